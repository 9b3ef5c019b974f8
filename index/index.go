package index

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/gosiamese/gosiamese/siamese"
)

// Index is an inverted-file index of vectors, each named by an id.
type Index struct {
	mu       sync.RWMutex
	metric   siamese.Distance
	dim      int
	probe    int
	cent     []float32 // Lists x dim centroids
	centNorm []float32 // their inverse norms (Cosine only)
	lists    []list
	ids      []string // by position: the order vectors were added
	seen     map[string]int
	meta     map[string]string
}

// list is one inverted list: its vectors, contiguous, and their
// positions in the index.
type list struct {
	vecs []float32
	pos  []int32
	norm []float32 // inverse norms (Cosine only)
}

// Hit is a vector a search found.
type Hit struct {
	ID       string  // its id
	Index    int     // its position: the order it was added in, from 0
	Distance float64 // its distance to the query under the index's metric
}

// Build makes an index of vecs, named by ids (unique), under metric:
// siamese.L1 (Manhattan), siamese.L2 (squared Euclidean) or
// siamese.Cosine (1 - cos). Build keeps no reference to vecs.
func Build(metric siamese.Distance, ids []string, vecs [][]float32, cfg Config) (*Index, error) {
	if len(ids) != len(vecs) {
		return nil, fmt.Errorf("index: %d ids for %d vectors", len(ids), len(vecs))
	}
	if len(vecs) == 0 {
		return nil, errNoVectors
	}
	if metric != siamese.L1 && metric != siamese.L2 && metric != siamese.Cosine {
		return nil, fmt.Errorf("index: metric %v", metric)
	}
	cfg = cfg.WithDefaults(len(vecs))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Lists > len(vecs) || cfg.Train > len(vecs) {
		return nil, fmt.Errorf("index: Lists %d and Train %d: at most the %d vectors", cfg.Lists, cfg.Train, len(vecs))
	}
	dim := len(vecs[0])
	ix := &Index{metric: metric, dim: dim, probe: cfg.Probe, seen: map[string]int{}, meta: map[string]string{}}
	if err := ix.check(ids, vecs); err != nil {
		return nil, err
	}
	ix.cent = train(metric, dim, vecs, cfg)
	ix.centNorm = ix.norms(ix.cent, cfg.Lists)
	ix.lists = make([]list, cfg.Lists)
	ix.add(ids, vecs, cfg.Workers)
	return ix, nil
}

// check reports a bad vector or id among those to add.
func (ix *Index) check(ids []string, vecs [][]float32) error {
	if ix.dim < 1 || ix.dim > maxDim {
		return fmt.Errorf("%w: length %d (1 to %d)", ErrVector, ix.dim, maxDim)
	}
	fresh := make(map[string]bool, len(ids))
	for i, v := range vecs {
		id := ids[i]
		if len(id) > maxID {
			return fmt.Errorf("index: id of %d bytes: at most %d", len(id), maxID)
		}
		if _, ok := ix.seen[id]; ok || fresh[id] {
			return fmt.Errorf("%w %q", ErrDuplicateID, id)
		}
		fresh[id] = true
		if len(v) != ix.dim {
			return fmt.Errorf("%w: %s: length %d, want %d", ErrVector, id, len(v), ix.dim)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%w: %s: %v", ErrVector, id, x)
			}
		}
	}
	return nil
}

// norms returns the inverse norms of the n vectors in flat, for Cosine.
func (ix *Index) norms(flat []float32, n int) []float32 {
	if ix.metric != siamese.Cosine {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = invNorm(flat[i*ix.dim : (i+1)*ix.dim])
	}
	return out
}

// Add adds vectors, named by ids, to the list of their nearest centroid.
// The centroids stay as Build found them.
func (ix *Index) Add(ids []string, vecs [][]float32) error {
	if len(ids) != len(vecs) {
		return fmt.Errorf("index: %d ids for %d vectors", len(ids), len(vecs))
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.check(ids, vecs); err != nil {
		return err
	}
	ix.add(ids, vecs, Config{}.WithDefaults(len(vecs)).Workers)
	return nil
}

func (ix *Index) add(ids []string, vecs [][]float32, workers int) {
	assign := nearestAll(ix.metric, ix.dim, ix.cent, ix.centNorm, vecs, workers)
	for i, v := range vecs {
		l := &ix.lists[assign[i]]
		l.vecs = append(l.vecs, v...)
		l.pos = append(l.pos, int32(len(ix.ids)))
		if ix.metric == siamese.Cosine {
			l.norm = append(l.norm, invNorm(v))
		}
		ix.seen[ids[i]] = len(ix.ids)
		ix.ids = append(ix.ids, ids[i])
	}
}

// Len returns the number of vectors.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.ids)
}

// Dim returns the length of the vectors.
func (ix *Index) Dim() int { return ix.dim }

// Metric returns the distance the index compares vectors by.
func (ix *Index) Metric() siamese.Distance { return ix.metric }

// Lists returns the number of inverted lists.
func (ix *Index) Lists() int { return len(ix.lists) }

// Probe returns the number of lists a search scans.
func (ix *Index) Probe() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.probe
}

// SetProbe sets the number of lists a search scans, 1 to Lists.
func (ix *Index) SetProbe(p int) error {
	if p < 1 || p > len(ix.lists) {
		return fmt.Errorf("index: probe %d: want 1 to %d (the lists)", p, len(ix.lists))
	}
	ix.mu.Lock()
	ix.probe = p
	ix.mu.Unlock()
	return nil
}

// Metadata returns a copy of the index's metadata: for an index made by
// FromBulk, the bulk package's keys (bulk.KeyModel, ...) of the model
// whose search vectors it holds.
func (ix *Index) Metadata() map[string]string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return maps.Clone(ix.meta)
}

// SetMetadata replaces the index's metadata (saved with it).
func (ix *Index) SetMetadata(m map[string]string) {
	ix.mu.Lock()
	ix.meta = maps.Clone(m)
	ix.mu.Unlock()
}

// Search returns the k vectors nearest to q among those of the Probe
// lists whose centroids are nearest to q: nearest first, ties in the
// order the vectors were added. It returns fewer than k when those lists
// hold fewer vectors.
func (ix *Index) Search(q []float32, k int) ([]Hit, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.search(q, k, ix.probe)
}

// Exact returns the k vectors nearest to q, scanning every list: the
// answer Search approximates, computed alike (the same distances, the
// same order of ties).
func (ix *Index) Exact(q []float32, k int) ([]Hit, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.search(q, k, len(ix.lists))
}

type cand struct {
	d   float32
	pos int32
}

// worse orders candidates: farther, or as far and added later.
func worse(a, b cand) bool { return a.d > b.d || a.d == b.d && a.pos > b.pos }

func (ix *Index) search(q []float32, k, probe int) ([]Hit, error) {
	if len(q) != ix.dim {
		return nil, fmt.Errorf("%w: query of length %d, want %d", ErrVector, len(q), ix.dim)
	}
	if k < 1 {
		return nil, fmt.Errorf("index: k %d: want at least 1", k)
	}
	for _, x := range q {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%w: query: %v", ErrVector, x)
		}
	}
	var qn float32
	if ix.metric == siamese.Cosine {
		qn = invNorm(q)
	}
	order := ix.nearestLists(q, qn, probe)
	// heap is a max-heap of the best k so far, the worst on top.
	heap := make([]cand, 0, k)
	for _, li := range order {
		l := &ix.lists[li]
		for j, pos := range l.pos {
			var vn float32
			if l.norm != nil {
				vn = l.norm[j]
			}
			c := cand{distance(ix.metric, q, qn, l.vecs[j*ix.dim:(j+1)*ix.dim], vn), pos}
			if len(heap) < k {
				heap = append(heap, c)
				up(heap, len(heap)-1)
			} else if worse(heap[0], c) {
				heap[0] = c
				down(heap, 0)
			}
		}
	}
	slices.SortFunc(heap, func(a, b cand) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	hits := make([]Hit, len(heap))
	for i, c := range heap {
		hits[i] = Hit{ID: ix.ids[c.pos], Index: int(c.pos), Distance: float64(c.d)}
	}
	return hits, nil
}

func up(h []cand, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func down(h []cand, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && worse(h[c+1], h[c]) {
			c++
		}
		if !worse(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// nearestLists returns the probe lists whose centroids are nearest to q.
func (ix *Index) nearestLists(q []float32, qn float32, probe int) []int {
	if probe >= len(ix.lists) {
		all := make([]int, len(ix.lists))
		for i := range all {
			all[i] = i
		}
		return all
	}
	cs := make([]cand, len(ix.lists))
	for i := range cs {
		var cn float32
		if ix.centNorm != nil {
			cn = ix.centNorm[i]
		}
		cs[i] = cand{distance(ix.metric, q, qn, ix.cent[i*ix.dim:(i+1)*ix.dim], cn), int32(i)}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	out := make([]int, probe)
	for i := range out {
		out[i] = int(cs[i].pos)
	}
	return out
}

// Matches turns hits of an index of m's search vectors into the matches a
// siamese.Gallery of the same references returns: each with the model's
// score (siamese.Model.ScoreDistance). Check that the index holds m's
// vectors first (CheckModel).
func Matches(m *siamese.Model, hits []Hit) []siamese.Match {
	out := make([]siamese.Match, len(hits))
	for i, h := range hits {
		out[i] = siamese.Match{ID: h.ID, Index: h.Index, Score: m.ScoreDistance(h.Distance)}
	}
	return out
}

// train finds cfg.Lists centroids of a seeded sample of cfg.Train vectors
// by Lloyd's k-means: mean centroids, scaled to unit length for Cosine.
func train(metric siamese.Distance, dim int, vecs [][]float32, cfg Config) []float32 {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	sample := rng.Perm(len(vecs))[:cfg.Train]
	slices.Sort(sample) // the sample's order does not depend on the permutation's
	xs := make([][]float32, len(sample))
	for i, s := range sample {
		xs[i] = vecs[s]
	}
	k := cfg.Lists
	cent := make([]float32, k*dim)
	for i, j := range rng.Perm(len(xs))[:k] {
		copy(cent[i*dim:], xs[j])
	}
	unit := func(c []float32) {
		if metric == siamese.Cosine {
			if n := invNorm(c); n != 0 {
				for i := range c {
					c[i] *= n
				}
			}
		}
	}
	for i := 0; i < k; i++ {
		unit(cent[i*dim : (i+1)*dim])
	}
	sum := make([]float64, k*dim)
	count := make([]int, k)
	for it := 0; it < cfg.Iterations; it++ {
		var cn []float32
		if metric == siamese.Cosine {
			cn = make([]float32, k)
			for i := range cn {
				cn[i] = invNorm(cent[i*dim : (i+1)*dim])
			}
		}
		assign := nearestAll(metric, dim, cent, cn, xs, cfg.Workers)
		clear(sum)
		clear(count)
		for i, x := range xs {
			a := assign[i]
			count[a]++
			s := sum[a*dim : (a+1)*dim]
			for j, v := range x {
				s[j] += float64(v)
			}
		}
		for c := 0; c < k; c++ {
			cc := cent[c*dim : (c+1)*dim]
			if count[c] == 0 {
				// An empty list takes a random training vector.
				copy(cc, xs[rng.IntN(len(xs))])
			} else {
				for j := range cc {
					cc[j] = float32(sum[c*dim+j] / float64(count[c]))
				}
			}
			unit(cc)
		}
	}
	return cent
}

// nearestAll returns the index of the nearest centroid of each vector,
// the first of equally near ones, computed by workers goroutines.
func nearestAll(metric siamese.Distance, dim int, cent, centNorm []float32, vecs [][]float32, workers int) []int {
	k := len(cent) / dim
	out := make([]int, len(vecs))
	var wg sync.WaitGroup
	chunk := (len(vecs) + workers - 1) / workers
	for lo := 0; lo < len(vecs); lo += chunk {
		hi := min(lo+chunk, len(vecs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				v := vecs[i]
				var vn float32
				if metric == siamese.Cosine {
					vn = invNorm(v)
				}
				best, bd := 0, float32(math.Inf(1))
				for c := 0; c < k; c++ {
					var cn float32
					if centNorm != nil {
						cn = centNorm[c]
					}
					if d := distance(metric, v, vn, cent[c*dim:(c+1)*dim], cn); d < bd {
						best, bd = c, d
					}
				}
				out[i] = best
			}
		})
	}
	wg.Wait()
	return out
}
