package data

import (
	"container/list"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gosiamese/gosiamese/preprocess"
	"gorgonia.org/tensor"
)

// Batcher turns pairs of a Dataset into model input: the A and B images
// of N pairs as two preprocessed (N, C, Size, Size) tensors, and their
// labels. Each image is augmented with a generator keyed by (seed, step,
// position), so the same pairs and step give bit-identical tensors with
// any number of workers. Memory is bounded by the batch, plus the cache
// that SetCacheImages allows. A Batcher is safe for concurrent use.
type Batcher struct {
	ds      Dataset
	cfg     preprocess.Config
	aug     Augment
	workers int
	seed    uint64

	mu       sync.Mutex
	capacity int
	cache    map[int]*list.Element
	lru      *list.List // of cacheEntry, most recent first
}

// cacheEntry is one decoded image in the cache.
type cacheEntry struct {
	index int
	img   image.Image
}

// NewBatcher returns a Batcher over ds with the preprocessing cfg and the
// augmentation aug (the zero Augment is none). workers <= 0 means
// runtime.GOMAXPROCS(0). Errors: a nil dataset, an invalid cfg or aug.
func NewBatcher(ds Dataset, cfg preprocess.Config, aug Augment, workers int, seed uint64) (*Batcher, error) {
	if ds == nil {
		return nil, errors.New("data: batcher: nil dataset")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("data: batcher: %w", err)
	}
	if aug.Enabled {
		if err := aug.Validate(); err != nil {
			return nil, err
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Batcher{ds: ds, cfg: cfg, aug: aug, workers: workers, seed: seed}, nil
}

// SetCacheImages keeps up to n decoded images between calls to Batch,
// dropping the least recently used; n <= 0 (the default) turns the cache
// off and empties it. Cached images are shared, never modified.
func (b *Batcher) SetCacheImages(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.capacity = max(n, 0)
	if b.capacity == 0 {
		b.cache, b.lru = nil, nil
		return
	}
	if b.cache == nil {
		b.cache, b.lru = map[int]*list.Element{}, list.New()
	}
	b.evict()
}

// evict drops entries beyond capacity. b.mu must be held.
func (b *Batcher) evict() {
	for b.lru.Len() > b.capacity {
		e := b.lru.Back()
		b.lru.Remove(e)
		delete(b.cache, e.Value.(cacheEntry).index)
	}
}

// cached returns the cached image i, or nil.
func (b *Batcher) cached(i int) image.Image {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.cache[i]; ok {
		b.lru.MoveToFront(e)
		return e.Value.(cacheEntry).img
	}
	return nil
}

// store puts image i into the cache when it is on.
func (b *Batcher) store(i int, img image.Image) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.capacity == 0 {
		return
	}
	if e, ok := b.cache[i]; ok {
		b.lru.MoveToFront(e)
		return
	}
	b.cache[i] = b.lru.PushFront(cacheEntry{i, img})
	b.evict()
}

// image decodes image i, through the cache.
func (b *Batcher) image(i int) (image.Image, error) {
	if img := b.cached(i); img != nil {
		return img, nil
	}
	img, err := b.ds.Image(i)
	if err != nil {
		return nil, err
	}
	b.store(i, img)
	return img, nil
}

// Batch returns the model input for pairs: a holds the A images and bt
// the B images, each (N, C, Size, Size) float32 with N = len(pairs), and
// labels[k] = pairs[k].Label. step keys the augmentation (use the training
// step, so every step sees fresh distortions and a rerun sees the same).
// Errors name the pair and the image.
func (b *Batcher) Batch(pairs []Pair, step uint64) (a, bt *tensor.Dense, labels []float32, err error) {
	n := len(pairs)
	if n == 0 {
		return nil, nil, nil, errors.New("data: batch: no pairs")
	}
	size := b.ds.Len()
	slot := map[int]int{}
	var uniq []int
	pos := make([]int, 2*n) // slot of each position
	for k, p := range pairs {
		for s, i := range [2]int{p.A, p.B} {
			if i < 0 || i >= size {
				return nil, nil, nil, fmt.Errorf("data: batch: pair %d: %w", k, trimData(errIndex(i, size)))
			}
			j, ok := slot[i]
			if !ok {
				j = len(uniq)
				slot[i] = j
				uniq = append(uniq, i)
			}
			pos[2*k+s] = j
		}
	}
	where := func(p int) string {
		side := "A"
		if p%2 == 1 {
			side = "B"
		}
		return fmt.Sprintf("pair %d (%s)", p/2, side)
	}
	firstPos := make([]int, len(uniq))
	for p := len(pos) - 1; p >= 0; p-- {
		firstPos[pos[p]] = p
	}

	per := b.cfg.Channels * b.cfg.Size * b.cfg.Size
	data := make([]float32, 2*n*per) // positions in order: A0 B0 A1 B1 ...
	imgs := make([]image.Image, len(uniq))

	if !b.aug.Enabled {
		// Preprocess every distinct image once, into its first position.
		err := parallel(len(uniq), b.workers, func(j int) error {
			img, err := b.image(uniq[j])
			if err != nil {
				return fmt.Errorf("data: batch: %s: %w", where(firstPos[j]), trimData(err))
			}
			return b.pixels(data, firstPos[j], img, per, where)
		})
		if err != nil {
			return nil, nil, nil, err
		}
		for p, j := range pos {
			if f := firstPos[j]; f != p {
				copy(data[p*per:(p+1)*per], data[f*per:(f+1)*per])
			}
		}
	} else {
		err := parallel(len(uniq), b.workers, func(j int) error {
			img, err := b.image(uniq[j])
			if err != nil {
				return fmt.Errorf("data: batch: %s: %w", where(firstPos[j]), trimData(err))
			}
			imgs[j] = img
			return nil
		})
		if err != nil {
			return nil, nil, nil, err
		}
		err = parallel(2*n, b.workers, func(p int) error {
			rng := rand.New(derive(b.seed, domainAugment, step, uint64(p)))
			return b.pixels(data, p, b.aug.Apply(imgs[pos[p]], rng), per, where)
		})
		if err != nil {
			return nil, nil, nil, err
		}
	}

	// Split the interleaved positions into the A and B tensors.
	da := make([]float32, n*per)
	db := make([]float32, n*per)
	labels = make([]float32, n)
	for k := range pairs {
		copy(da[k*per:(k+1)*per], data[2*k*per:(2*k+1)*per])
		copy(db[k*per:(k+1)*per], data[(2*k+1)*per:(2*k+2)*per])
		labels[k] = pairs[k].Label
	}
	shape := tensor.WithShape(n, b.cfg.Channels, b.cfg.Size, b.cfg.Size)
	a = tensor.New(shape, tensor.WithBacking(da))
	bt = tensor.New(tensor.WithShape(n, b.cfg.Channels, b.cfg.Size, b.cfg.Size), tensor.WithBacking(db))
	return a, bt, labels, nil
}

// pixels preprocesses img into position p of data.
func (b *Batcher) pixels(data []float32, p int, img image.Image, per int, where func(int) string) error {
	x, err := preprocess.Pixels(img, b.cfg)
	if err != nil {
		return fmt.Errorf("data: batch: %s: %w", where(p), err)
	}
	copy(data[p*per:(p+1)*per], x)
	return nil
}

// parallel runs f(0..n-1) on up to workers goroutines and returns the
// error of the lowest index that failed, so the error does not depend on
// scheduling.
func parallel(n, workers int, f func(i int) error) error {
	workers = min(max(workers, 1), n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// dataError keeps an error's chain while dropping its "data: " prefix,
// so wrapped messages do not repeat it.
type dataError struct {
	msg string
	err error
}

func (e *dataError) Error() string { return e.msg }
func (e *dataError) Unwrap() error { return e.err }

// trimData strips a leading "data: " from err's message.
func trimData(err error) error {
	if m, ok := strings.CutPrefix(err.Error(), "data: "); ok {
		return &dataError{msg: m, err: err}
	}
	return err
}
