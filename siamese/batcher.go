package siamese

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"
	"time"

	"github.com/gosiamese/gosiamese/preprocess"
	"gorgonia.org/tensor"
)

var errForeignGallery = errors.New("siamese: batcher: the gallery belongs to another model")

// BatcherConfig configures a Batcher. Zero fields take the defaults.
type BatcherConfig struct {
	// MaxBatch is the most images one forward pass embeds: a power of two
	// from 1 to MaxBatch. Default MaxBatch (16).
	MaxBatch int
	// MaxWait is the longest the first request of a batch waits for
	// others to join it before the batch runs; a full batch runs at once.
	// Default 2ms; negative means no wait (a batch takes what is queued
	// when the tower is free).
	MaxWait time.Duration
	// MaxQueue is the most images waiting at once for one tower; a
	// request beyond it fails at once with ErrOverloaded. Default 1024.
	MaxQueue int
	// OnBatch, if set, is called after each forward pass with the number
	// of images it embedded and how long it took (for metrics). It runs on
	// the batcher's goroutine and should return quickly.
	OnBatch func(images int, d time.Duration)
}

// DefaultMaxWait is BatcherConfig.MaxWait's default.
const DefaultMaxWait = 2 * time.Millisecond

// DefaultMaxQueue is BatcherConfig.MaxQueue's default.
const DefaultMaxQueue = 1024

// WithDefaults returns c with zero fields replaced by their defaults.
func (c BatcherConfig) WithDefaults() BatcherConfig {
	if c.MaxBatch == 0 {
		c.MaxBatch = MaxBatch
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxWait < 0 {
		c.MaxWait = 0
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c BatcherConfig) Validate() error {
	d := c.WithDefaults()
	if d.MaxBatch < 1 || d.MaxBatch > MaxBatch || d.MaxBatch&(d.MaxBatch-1) != 0 {
		return fmt.Errorf("siamese: batcher: MaxBatch %d is not a power of two from 1 to %d", c.MaxBatch, MaxBatch)
	}
	if d.MaxQueue < 1 {
		return fmt.Errorf("siamese: batcher: MaxQueue %d is not positive", c.MaxQueue)
	}
	return nil
}

// A Batcher embeds images for many goroutines at once: concurrent
// requests for single images wait together, up to MaxWait, and run as one
// forward pass of up to MaxBatch images, so that 64 callers embedding one
// image each cost about what one caller embedding 64 does. Each caller
// preprocesses its own image before it queues.
//
// Results are those of the Model's own methods: on a batch-invariant
// backend (layers.BatchInvariant, the default build) bit for bit; on
// another, each image runs alone, so that batching changes nothing but
// gains nothing either. A batch runs in pieces whose sizes are powers of
// two through the model's bounded graph cache (MaxGraphs), whatever mix
// of batch sizes arrives.
//
// A Batcher runs one goroutine per tower until Close. It is safe for
// concurrent use.
type Batcher struct {
	m     *Model
	cfg   BatcherConfig
	q     [2]*queue // q[1] == q[0] unless the towers are separate
	stop  chan struct{}
	wg    sync.WaitGroup
	close sync.Once
}

// request is one image waiting for its embedding.
type request struct {
	ctx context.Context
	pix []float32 // the preprocessed image
	at  time.Time // when it was queued
	res chan result
}

type result struct {
	emb Embedding
	err error
}

// queue holds one tower's waiting requests, oldest first.
type queue struct {
	tower  int
	mu     sync.Mutex
	reqs   []*request
	closed bool
	wake   chan struct{} // a request arrived (capacity 1)
	buf    []float32     // the batch's input, reused
}

// NewBatcher starts a Batcher on m.
func (m *Model) NewBatcher(cfg BatcherConfig) (*Batcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Batcher{m: m, cfg: cfg.WithDefaults(), stop: make(chan struct{})}
	towers := 1
	if m.cfg.SeparateTowers {
		towers = 2
	}
	for t := range towers {
		b.q[t] = &queue{tower: t, wake: make(chan struct{}, 1)}
		b.wg.Add(1)
		go b.work(b.q[t])
	}
	if towers == 1 {
		b.q[1] = b.q[0]
	}
	return b, nil
}

// Close stops the batcher: requests still queued fail with ErrClosed, a
// batch already running finishes, and later calls fail with ErrClosed.
// It returns once the batcher's goroutines have ended.
func (b *Batcher) Close() error {
	b.close.Do(func() {
		for _, q := range b.towers() {
			q.mu.Lock()
			q.closed = true
			for _, r := range q.reqs {
				r.res <- result{err: ErrClosed}
			}
			q.reqs = nil
			q.mu.Unlock()
		}
		close(b.stop)
	})
	b.wg.Wait()
	return nil
}

// towers returns the distinct queues.
func (b *Batcher) towers() []*queue {
	if b.q[1] == b.q[0] {
		return b.q[:1]
	}
	return b.q[:]
}

// Len returns the number of images waiting, all towers together.
func (b *Batcher) Len() int {
	n := 0
	for _, q := range b.towers() {
		q.mu.Lock()
		n += len(q.reqs)
		q.mu.Unlock()
	}
	return n
}

// Embed returns the embedding of img (tower 0), as Model.Embed does. If
// ctx ends first, the request leaves the queue and Embed returns an error
// wrapping ctx.Err().
func (b *Batcher) Embed(ctx context.Context, img image.Image) (Embedding, error) {
	es, err := b.embed(ctx, []int{0}, []image.Image{img})
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// EmbedBatch returns the embeddings of imgs (tower 0), as
// Model.EmbedBatch does; the images queue one by one and may share
// forward passes with other callers' images.
func (b *Batcher) EmbedBatch(ctx context.Context, imgs []image.Image) ([]Embedding, error) {
	if len(imgs) == 0 {
		return nil, errors.New("siamese: no images to embed")
	}
	return b.embed(ctx, make([]int, len(imgs)), imgs)
}

// Compare returns the score of the pair (x, y), as Model.Compare does:
// both images are embedded through the batcher and scored by the head.
func (b *Batcher) Compare(ctx context.Context, x, y image.Image) (Score, error) {
	es, err := b.embed(ctx, []int{0, 1}, []image.Image{x, y})
	if err != nil {
		return 0, err
	}
	return b.m.ScoreEmbeddings(es[0], es[1])
}

// Search embeds query through the batcher and returns g's k best-scoring
// references, as Gallery.Search does. g must belong to the batcher's
// model.
func (b *Batcher) Search(ctx context.Context, g *Gallery, query image.Image, k int) ([]Match, error) {
	if g == nil || g.m != b.m {
		return nil, errForeignGallery
	}
	q, err := b.Embed(ctx, query)
	if err != nil {
		return nil, err
	}
	return g.SearchEmbedding(q, k)
}

// Add embeds refs through the batcher (by the second tower) and adds
// them to g under ids, as Gallery.Add does. g must belong to the
// batcher's model.
func (b *Batcher) Add(ctx context.Context, g *Gallery, ids []string, refs []image.Image) error {
	if g == nil || g.m != b.m {
		return errForeignGallery
	}
	if len(ids) != len(refs) {
		return fmt.Errorf("siamese: gallery: %d ids for %d images", len(ids), len(refs))
	}
	if len(refs) == 0 {
		return nil
	}
	towers := make([]int, len(refs))
	for i := range towers {
		towers[i] = 1
	}
	embs, err := b.embed(ctx, towers, refs)
	if err != nil {
		return err
	}
	return g.AddEmbeddings(ids, embs)
}

// embed preprocesses imgs, queues image i for tower towers[i] and waits
// for their embeddings or the end of ctx, whichever comes first.
func (b *Batcher) embed(ctx context.Context, towers []int, imgs []image.Image) ([]Embedding, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	reqs := make([]*request, len(imgs))
	for i, img := range imgs {
		pix, err := preprocess.Pixels(img, b.m.cfg.Input)
		if err != nil {
			if len(imgs) > 1 {
				return nil, fmt.Errorf("siamese: image %d: %w", i, err)
			}
			return nil, fmt.Errorf("siamese: %w", err)
		}
		reqs[i] = &request{ctx: ctx, pix: pix, res: make(chan result, 1)}
	}
	// leave removes the requests from i on that are still queued.
	leave := func(i int) {
		for ; i < len(reqs); i++ {
			b.q[towers[i]].remove(reqs[i])
		}
	}
	for i, r := range reqs {
		if err := b.push(b.q[towers[i]], r); err != nil {
			leave(0)
			return nil, err
		}
	}
	out := make([]Embedding, len(reqs))
	for i, r := range reqs {
		select {
		case res := <-r.res:
			if res.err != nil {
				leave(i + 1)
				return nil, res.err
			}
			out[i] = res.emb
		case <-ctx.Done():
			leave(i)
			return nil, fmt.Errorf("siamese: %w", ctx.Err())
		}
	}
	return out, nil
}

func (b *Batcher) push(q *queue, r *request) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	case len(q.reqs) >= b.cfg.MaxQueue:
		q.mu.Unlock()
		return ErrOverloaded
	}
	r.at = time.Now()
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// remove takes r out of the queue if it is still there.
func (q *queue) remove(r *request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.reqs, r); i >= 0 {
		q.reqs = slices.Delete(q.reqs, i, i+1)
	}
}

// work runs q's batches until the batcher stops.
func (b *Batcher) work(q *queue) {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		batch := b.next(q, timer)
		if batch == nil {
			return
		}
		b.run(q, batch)
	}
}

// next waits until a batch is due and takes it from q: MaxBatch images,
// or whatever is queued once the oldest has waited MaxWait, rounded down
// to a power of two (the rest stay first in line for the next batch, which
// later requests may fill). It returns nil once the batcher stops.
func (b *Batcher) next(q *queue, timer *time.Timer) []*request {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil
		}
		n := len(q.reqs)
		var due time.Time
		if n > 0 {
			due = q.reqs[0].at.Add(b.cfg.MaxWait)
		}
		if n >= b.cfg.MaxBatch || (n > 0 && !time.Now().Before(due)) {
			k := 1
			for k*2 <= min(n, b.cfg.MaxBatch) {
				k *= 2
			}
			batch := slices.Clone(q.reqs[:k])
			q.reqs = slices.Delete(q.reqs, 0, k)
			q.mu.Unlock()
			return batch
		}
		q.mu.Unlock()
		var tick <-chan time.Time
		if n > 0 {
			timer.Reset(time.Until(due))
			tick = timer.C
		}
		select {
		case <-q.wake:
		case <-tick:
		case <-b.stop:
		}
	}
}

// run embeds a batch and hands each request its result. Requests whose
// context ended after they were taken are left out.
func (b *Batcher) run(q *queue, batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() == nil {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	in := b.m.cfg.Input
	per := in.Channels * in.Size * in.Size
	q.buf = slices.Grow(q.buf[:0], len(live)*per)
	for _, r := range live {
		q.buf = append(q.buf, r.pix...)
	}
	x := tensor.New(tensor.WithShape(len(live), in.Channels, in.Size, in.Size), tensor.WithBacking(q.buf))
	start := time.Now()
	b.m.mu.RLock()
	es, err := b.m.embedTensor(q.tower, x)
	b.m.mu.RUnlock()
	if b.cfg.OnBatch != nil {
		b.cfg.OnBatch(len(live), time.Since(start))
	}
	for i, r := range live {
		if err != nil {
			r.res <- result{err: err}
		} else {
			r.res <- result{emb: es[i]}
		}
	}
}
