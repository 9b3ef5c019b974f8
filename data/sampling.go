package data

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Pair is two images of a Dataset, by index, with a label: 1 means the
// images show the same thing (same class), 0 that they differ. This is
// the label convention of the whole module (see loss.BCEWithLogits and
// siamese.Score).
type Pair struct {
	A, B  int
	Label float32
}

// LabeledPair is another name for Pair, the type PairsCSV returns.
type LabeledPair = Pair

// SplitClasses splits the images of ds into training and validation sets
// with disjoint classes, so that validation measures the model on classes
// it never saw (the one-shot setting). round(valFraction * classes) of
// the classes that have images, shuffled by seed alone, go to validation:
// at least one, and at least one left for training, when 0 < valFraction
// < 1 and there are two classes or more. valFraction is clamped to [0, 1]
// (NaN is 0). Both index lists are sorted.
func SplitClasses(ds Dataset, valFraction float64, seed uint64) (train, val []int) {
	if ds == nil {
		return nil, nil
	}
	if math.IsNaN(valFraction) || valFraction < 0 {
		valFraction = 0
	}
	valFraction = min(valFraction, 1)
	n := ds.Len()
	count := make([]int, ds.NumClasses())
	for i := 0; i < n; i++ {
		if c := ds.Class(i); c >= 0 && c < len(count) {
			count[c]++
		}
	}
	var classes []int
	for c, k := range count {
		if k > 0 {
			classes = append(classes, c)
		}
	}
	nc := len(classes)
	nVal := int(math.Round(valFraction * float64(nc)))
	if nc >= 2 && valFraction > 0 && valFraction < 1 {
		nVal = min(max(nVal, 1), nc-1)
	}
	shuffle(derive(seed, domainSplit), classes)
	isVal := make([]bool, len(count))
	for _, c := range classes[:nVal] {
		isVal[c] = true
	}
	return partition(n, func(i int) bool { c := ds.Class(i); return c >= 0 && c < len(count) },
		func(i int) bool { return isVal[ds.Class(i)] })
}

// partition lists the images i in [0, n) for which in is true, in order,
// as training images or, where held is true, validation images.
func partition(n int, in, held func(i int) bool) (train, val []int) {
	for i := range n {
		if !in(i) {
			continue
		}
		if held(i) {
			val = append(val, i)
		} else {
			train = append(train, i)
		}
	}
	return train, val
}

// SplitImages splits the images of ds listed in indices (nil: all) into
// training and validation sets that share their classes: of each class,
// round(valFraction * images) images, chosen by seed alone, go to
// validation when 0 < valFraction < 1: at least two when the class has
// four images or more (so that validation has a positive pair of it), at
// least one when it has two or three, and never all of them. Validation then measures the model on new images of
// the classes it trained on (MNIST's digits, a fixed set of products).
// valFraction is clamped to [0, 1] (NaN is 0); images with an invalid
// class, an index out of range or a repeated one go to neither set. Both
// index lists are sorted.
func SplitImages(ds Dataset, indices []int, valFraction float64, seed uint64) (train, val []int) {
	if ds == nil {
		return nil, nil
	}
	if math.IsNaN(valFraction) || valFraction < 0 {
		valFraction = 0
	}
	valFraction = min(valFraction, 1)
	if indices == nil {
		indices = make([]int, ds.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	byClass := make([][]int, ds.NumClasses())
	listed := make([]bool, ds.Len())
	for _, i := range indices {
		if i < 0 || i >= ds.Len() || listed[i] {
			continue
		}
		if c := ds.Class(i); c >= 0 && c < len(byClass) {
			listed[i] = true
			byClass[c] = append(byClass[c], i)
		}
	}
	isVal := make([]bool, ds.Len())
	for c, idx := range byClass {
		k := len(idx)
		nVal := int(math.Round(valFraction * float64(k)))
		if k >= 2 && valFraction > 0 && valFraction < 1 {
			least := 1
			if k >= 4 {
				least = 2
			}
			nVal = min(max(nVal, least), k-1)
		}
		shuffle(derive(seed, domainHold, uint64(c)), idx)
		for _, i := range idx[:nVal] {
			isVal[i] = true
		}
	}
	return partition(ds.Len(), func(i int) bool { return listed[i] }, func(i int) bool { return isVal[i] })
}

// PairSampler draws balanced random pairs from a subset of a Dataset,
// alternating positive (label 1) and negative: a positive takes a class
// with two images or more and two different images of it, a negative two
// different classes and an image of each. Pair k comes from a generator
// keyed by (seed, k) alone, so the sequence is fixed however Next is
// called, and State/Restore resume it exactly. It is not safe for
// concurrent use.
type PairSampler struct {
	seed        uint64
	drawn       uint64
	byClass     [][]int // image indices of each class with images
	multi       []int   // positions in byClass of classes with >= 2 images
	fingerprint uint64
}

// SamplerState is the position of a PairSampler, for checkpoints. It is a
// plain struct, fit for JSON.
type SamplerState struct {
	// Seed is the sampler's seed.
	Seed uint64 `json:"seed"`
	// Drawn is the number of pairs drawn so far.
	Drawn uint64 `json:"drawn"`
	// Fingerprint identifies the images and classes sampled from, so a
	// state cannot be restored into a sampler over other data.
	Fingerprint uint64 `json:"fingerprint"`
}

// NewPairSampler returns a sampler over the images of ds listed in
// indices (nil means all images). Duplicate indices count once, and the
// order of indices does not matter. Errors: an index out of range or with
// an invalid class, no class with two images (no positive pair possible),
// fewer than two classes (no negative pair possible).
func NewPairSampler(ds Dataset, indices []int, seed uint64) (*PairSampler, error) {
	if ds == nil {
		return nil, errors.New("data: nil dataset")
	}
	n := ds.Len()
	if indices == nil {
		indices = make([]int, n)
		for i := range indices {
			indices[i] = i
		}
	} else {
		indices = append([]int(nil), indices...)
	}
	sort.Ints(indices)
	groups := map[int][]int{}
	var order []int
	fp := splitmix64(uint64(len(indices)))
	for k, i := range indices {
		if k > 0 && indices[k-1] == i {
			continue
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("data: sampler: %w", errIndex(i, n))
		}
		c := ds.Class(i)
		if c < 0 || c >= ds.NumClasses() {
			return nil, fmt.Errorf("data: sampler: image %d (%s) has class %d, want [0, %d)", i, ds.Name(i), c, ds.NumClasses())
		}
		if _, ok := groups[c]; !ok {
			order = append(order, c)
		}
		groups[c] = append(groups[c], i)
		fp = splitmix64(fp ^ uint64(i)<<20 ^ uint64(c))
	}
	sort.Ints(order)
	s := &PairSampler{seed: seed, fingerprint: fp}
	for _, c := range order {
		if len(groups[c]) >= 2 {
			s.multi = append(s.multi, len(s.byClass))
		}
		s.byClass = append(s.byClass, groups[c])
	}
	if len(s.multi) == 0 {
		return nil, errors.New("data: sampler: no class has two images, so no positive pair can be drawn")
	}
	if len(s.byClass) < 2 {
		return nil, errors.New("data: sampler: fewer than two classes, so no negative pair can be drawn")
	}
	return s, nil
}

// Next returns the next n pairs (none when n <= 0).
func (s *PairSampler) Next(n int) []Pair {
	if n <= 0 {
		return nil
	}
	out := make([]Pair, n)
	for k := range out {
		out[k] = s.pair(domainSampler, s.drawn)
		s.drawn++
	}
	return out
}

// pair draws pair k of the stream domain: positive for even k.
func (s *PairSampler) pair(domain, k uint64) Pair {
	src := derive(s.seed, domain, k)
	if k%2 == 0 {
		imgs := s.byClass[s.multi[intn(src, len(s.multi))]]
		i := intn(src, len(imgs))
		j := intn(src, len(imgs)-1)
		if j >= i {
			j++
		}
		return Pair{A: imgs[i], B: imgs[j], Label: 1}
	}
	nc := len(s.byClass)
	ca := intn(src, nc)
	cb := intn(src, nc-1)
	if cb >= ca {
		cb++
	}
	a, b := s.byClass[ca], s.byClass[cb]
	return Pair{A: a[intn(src, len(a))], B: b[intn(src, len(b))], Label: 0}
}

// State returns the sampler's position.
func (s *PairSampler) State() SamplerState {
	return SamplerState{Seed: s.seed, Drawn: s.drawn, Fingerprint: s.fingerprint}
}

// Restore moves the sampler to a position returned by State, so the next
// pairs are those that followed it. The state must come from a sampler
// with the same seed over the same images.
func (s *PairSampler) Restore(st SamplerState) error {
	if st.Seed != s.seed {
		return fmt.Errorf("data: sampler: state has seed %d, sampler %d", st.Seed, s.seed)
	}
	if st.Fingerprint != s.fingerprint {
		return errors.New("data: sampler: state comes from a sampler over other images")
	}
	s.drawn = st.Drawn
	return nil
}

// FixedPairs returns n balanced pairs drawn as by a PairSampler over
// indices but from a stream of their own, the same on every call and every
// run for the same data and seed: a fixed validation list. Errors are
// those of NewPairSampler.
func FixedPairs(ds Dataset, indices []int, n int, seed uint64) ([]Pair, error) {
	s, err := NewPairSampler(ds, indices, seed)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	out := make([]Pair, n)
	for k := range out {
		out[k] = s.pair(domainFixed, uint64(k))
	}
	return out, nil
}

// SplitPairs splits a list of labelled pairs into training and validation
// pairs: the fraction val of the positive and of the negative pairs (at
// least one of each, and at least one of each left for training), chosen
// by a generator keyed by seed, are held out. Both lists keep the order of
// pairs. It fails when either label has fewer than two pairs.
func SplitPairs(pairs []Pair, val float64, seed uint64) (train, held []Pair, err error) {
	rng := rand.New(rand.NewPCG(seed, 0x7061697273)) // "pairs"
	isHeld := make([]bool, len(pairs))
	for _, label := range []float32{1, 0} {
		var idx []int
		for i, p := range pairs {
			if p.Label == label {
				idx = append(idx, i)
			}
		}
		if len(idx) < 2 {
			return nil, nil, fmt.Errorf("data: %d pairs labelled %g: validation needs one and training another", len(idx), label)
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		n := min(max(int(math.Round(val*float64(len(idx)))), 1), len(idx)-1)
		for _, i := range idx[:n] {
			isHeld[i] = true
		}
	}
	for i, p := range pairs {
		if isHeld[i] {
			held = append(held, p)
		} else {
			train = append(train, p)
		}
	}
	return train, held, nil
}

// CountClasses returns the number of distinct classes among the images of
// ds listed in indices (nil: all).
func CountClasses(ds Dataset, indices []int) int {
	seen := map[int]bool{}
	if indices == nil {
		for i := range ds.Len() {
			seen[ds.Class(i)] = true
		}
	}
	for _, i := range indices {
		seen[ds.Class(i)] = true
	}
	return len(seen)
}

// CountPairableClasses returns the number of classes with two images or
// more among the images of ds listed in indices (nil: all of them): the
// classes a one-shot task can take both its reference and its query from.
func CountPairableClasses(ds Dataset, indices []int) int {
	if indices == nil {
		indices = make([]int, ds.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	count := map[int]int{}
	n := 0
	for _, i := range indices {
		if count[ds.Class(i)]++; count[ds.Class(i)] == 2 {
			n++
		}
	}
	return n
}
