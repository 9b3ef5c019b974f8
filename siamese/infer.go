package siamese

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"

	"github.com/gosiamese/gosiamese/internal/lru"
	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Score is the model's probability, in [0, 1], that two images show the
// same thing. Higher means more alike. Label 1 in training means "same",
// so a score is directly comparable with labels.
type Score float64

// Same reports whether s reaches threshold: the verdict "same thing".
func (s Score) Same(threshold float64) bool { return float64(s) >= threshold }

// Embedding is one tower's output for one image.
type Embedding []float32

// MaxBatch is the largest number of images embedded in one forward pass.
const MaxBatch = 16

// embedder is a compiled inference graph for one tower and batch size.
type embedder struct {
	mu  sync.Mutex
	x   *G.Node
	out *G.Value // layers.Read
	vm  G.VM
}

// MaxGraphs is the most compiled inference graphs a model keeps. Each holds
// a whole tower with its buffers; a batch runs in pieces whose sizes are
// powers of two (which changes no embedding on a batch-invariant backend),
// and towers that share weights share graphs, so a model that sees every
// batch size from 1 to MaxBatch needs five graphs, and the least recently
// used one is dropped beyond that.
const MaxGraphs = 4

type embedCache struct {
	mu sync.Mutex
	c  lru.Cache[[2]int, *embedder] // key: tower, batch size
}

// embedder returns the compiled graph of tower t for batches of n images.
func (m *Model) embedder(tower, n int) (*embedder, error) {
	c := &m.embedders
	c.mu.Lock()
	defer c.mu.Unlock()
	if !m.cfg.SeparateTowers {
		tower = 0
	}
	key := [2]int{tower, n}
	if e, ok := c.c.Get(key); ok {
		return e, nil
	}
	in := m.cfg.Input
	g := layers.NewGraph(layers.Inference, 0)
	x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(n, in.Channels, in.Size, in.Size), G.WithName("images"))
	y, err := m.tower(g, tower, x)
	if err != nil {
		return nil, err
	}
	e := &embedder{x: x}
	e.out = layers.Read(y)
	layers.KeepOutputs(g) // run copies the output out
	e.vm = layers.NewTapeMachine(g)
	c.c.Max = MaxGraphs
	c.c.Put(key, e) // a dropped graph is freed once no call still runs it
	return e, nil
}

// embedImages preprocesses imgs and runs them through tower t, MaxBatch
// at a time, checking ctx before each piece. The caller holds m.mu for
// reading.
//
// An image's embedding, and so a pair's score, must not depend on the
// batch it comes in. The Go matrix kernels guarantee that; with a backend
// that does not (layers.BatchInvariant), each image runs alone.
func (m *Model) embedImages(ctx context.Context, t int, imgs []image.Image) ([]Embedding, error) {
	out := make([]Embedding, 0, len(imgs))
	for start := 0; start < len(imgs); start += MaxBatch {
		if err := stopped(ctx, start, len(imgs)); err != nil {
			return nil, err
		}
		chunk := imgs[start:min(start+MaxBatch, len(imgs))]
		pix, err := preprocess.Batch(chunk, m.cfg.Input)
		if err != nil {
			return nil, fmt.Errorf("siamese: %w", err)
		}
		in := m.cfg.Input
		x := tensor.New(tensor.WithShape(len(chunk), in.Channels, in.Size, in.Size), tensor.WithBacking(pix))
		es, err := m.embedTensorContext(ctx, t, x, start, len(imgs))
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// stopped returns nil while ctx lasts, and once it has ended an error
// saying how far the work got that wraps ctx.Err() and, when the context
// was cancelled with a cause of its own (context.WithCancelCause), that
// cause too.
func stopped(ctx context.Context, done, total int) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("siamese: stopped after %d of %d images: %w: %w", done, total, err, cause)
	}
	return fmt.Errorf("siamese: stopped after %d of %d images: %w", done, total, err)
}

// embedTensor is embedTensorContext without a context.
func (m *Model) embedTensor(t int, x *tensor.Dense) ([]Embedding, error) {
	return m.embedTensorContext(context.Background(), t, x, 0, x.Shape()[0])
}

// embedTensorContext runs preprocessed images x (N, C, S, S) through tower
// t: in batches of powers of two up to MaxBatch, or one image at a time
// when the backend is not batch invariant, checking ctx before each batch.
// x holds images done to done+N of total, for the message when ctx ends.
// The caller holds m.mu for reading.
func (m *Model) embedTensorContext(ctx context.Context, t int, x *tensor.Dense, done, total int) ([]Embedding, error) {
	n := x.Shape()[0]
	all := x.Data().([]float32)
	per := len(all) / n
	out := make([]Embedding, 0, n)
	for lo := 0; lo < n; {
		if err := stopped(ctx, done+lo, total); err != nil {
			return nil, err
		}
		// the largest power of two that fits: few graph sizes, no padding
		b := 1
		for b*2 <= min(n-lo, MaxBatch) && layers.BatchInvariant() {
			b *= 2
		}
		shape := append([]int{b}, x.Shape()[1:]...)
		xb := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(all[lo*per:(lo+b)*per]))
		if m.prec != resnet.FP32 {
			es, err := m.embedReduced(t, xb)
			if err != nil {
				return nil, err
			}
			out = append(out, es...)
			lo += b
			continue
		}
		e, err := m.embedder(t, b)
		if err != nil {
			return nil, err
		}
		flat, err := e.run(xb)
		if err != nil {
			return nil, fmt.Errorf("siamese: %w", err)
		}
		f := len(flat) / b
		for i := range b {
			out = append(out, flat[i*f:(i+1)*f:(i+1)*f])
		}
		lo += b
	}
	return out, nil
}

// run feeds x to the graph and returns a copy of its output.
func (e *embedder) run(x *tensor.Dense) (Embedding, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := G.Let(e.x, x); err != nil {
		return nil, err
	}
	if err := layers.Run(e.vm); err != nil {
		return nil, err
	}
	return append(Embedding(nil), (*e.out).Data().([]float32)...), nil
}

// Embed returns the embedding of one image (tower 0). Preprocessing is the
// model's own: pass decoded images as they are.
func (m *Model) Embed(img image.Image) (Embedding, error) {
	return m.EmbedContext(context.Background(), img)
}

// EmbedContext is Embed, giving up with an error that wraps ctx.Err() if
// ctx ends before the network runs.
func (m *Model) EmbedContext(ctx context.Context, img image.Image) (Embedding, error) {
	es, err := m.EmbedBatchContext(ctx, []image.Image{img})
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// EmbedBatch returns the embeddings of imgs (tower 0).
func (m *Model) EmbedBatch(imgs []image.Image) ([]Embedding, error) {
	return m.EmbedBatchContext(context.Background(), imgs)
}

// EmbedBatchContext is EmbedBatch under a context: the images run through
// the network a batch (at most MaxBatch images) at a time, and once ctx
// ends no further batch starts; the error then wraps ctx.Err(), so
// errors.Is(err, context.Canceled) or context.DeadlineExceeded holds. A
// batch already running finishes first.
func (m *Model) EmbedBatchContext(ctx context.Context, imgs []image.Image) ([]Embedding, error) {
	if len(imgs) == 0 {
		return nil, errors.New("siamese: no images to embed")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.embedImages(ctx, 0, imgs)
}

// Compare returns the score of the pair (a, b).
func (m *Model) Compare(a, b image.Image) (Score, error) {
	return m.CompareContext(context.Background(), a, b)
}

// CompareContext is Compare under a context, as CompareBatchContext.
func (m *Model) CompareContext(ctx context.Context, a, b image.Image) (Score, error) {
	s, err := m.CompareBatchContext(ctx, [][2]image.Image{{a, b}})
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

// CompareBatch returns the score of each pair. A pair gets the same score
// alone or in a batch, at any position.
func (m *Model) CompareBatch(pairs [][2]image.Image) ([]Score, error) {
	return m.CompareBatchContext(context.Background(), pairs)
}

// CompareBatchContext is CompareBatch under a context: once ctx ends no
// further batch of images starts, and the error wraps ctx.Err() (see
// EmbedBatchContext).
func (m *Model) CompareBatchContext(ctx context.Context, pairs [][2]image.Image) ([]Score, error) {
	if len(pairs) == 0 {
		return nil, errors.New("siamese: no pairs to compare")
	}
	as := make([]image.Image, len(pairs))
	bs := make([]image.Image, len(pairs))
	for i, p := range pairs {
		as[i], bs[i] = p[0], p[1]
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var ea, eb []Embedding
	var err error
	if m.cfg.SeparateTowers {
		if ea, err = m.embedImages(ctx, 0, as); err != nil {
			return nil, err
		}
		eb, err = m.embedImages(ctx, 1, bs)
	} else {
		var e []Embedding
		if e, err = m.embedImages(ctx, 0, append(as, bs...)); err == nil {
			ea, eb = e[:len(pairs)], e[len(pairs):]
		}
	}
	if err != nil {
		return nil, err
	}
	scores := make([]Score, len(pairs))
	for i := range pairs {
		if scores[i], err = m.scoreLocked(ea[i], eb[i]); err != nil {
			return nil, err
		}
	}
	return scores, nil
}

// ScoreEmbeddings scores two embeddings with the head alone (no encoder
// work): the way to compare one image against many stored ones.
func (m *Model) ScoreEmbeddings(a, b Embedding) (Score, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.scoreLocked(a, b)
}

// Logit returns the head's log-odds for two embeddings, before the
// sigmoid: ScoreEmbeddings is its sigmoid. It is linear in the distance
// of the two embeddings (bias minus the weighted distance), so the mean of
// several pairs' logits is the logit of their mean distance.
func (m *Model) Logit(a, b Embedding) (float64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.logitLocked(a, b)
}

func (m *Model) scoreLocked(a, b Embedding) (Score, error) {
	z, err := m.logitLocked(a, b)
	if err != nil {
		return 0, err
	}
	return Score(numeric.Sigmoid(z)), nil
}

// logitLocked computes bias - Σ|u_i| d_i in float64, as Network.Logits
// does on a graph.
func (m *Model) logitLocked(a, b Embedding) (float64, error) {
	f := m.cfg.embeddingSize()
	if len(a) != f || len(b) != f {
		return 0, fmt.Errorf("siamese: embeddings of length %d and %d, want %d", len(a), len(b), f)
	}
	u := m.out.Weight.Float32s()
	z := float64(m.out.Bias.Float32s()[0])
	switch m.cfg.Distance {
	case L1:
		for i := range a {
			z -= math.Abs(float64(u[i])) * math.Abs(float64(a[i])-float64(b[i]))
		}
	case L2:
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			z -= math.Abs(float64(u[i])) * d * d
		}
	case Cosine:
		d, err := Cosine.Between(a, b)
		if err != nil {
			return 0, err
		}
		z -= math.Abs(float64(u[0])) * d
	}
	return z, nil
}

// Threshold returns the score at or above which the model's verdict is
// "same": 0.5 unless calibrated.
func (m *Model) Threshold() float64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.threshold
}

// SetThreshold sets the verdict threshold (saved with the model).
func (m *Model) SetThreshold(t float64) error {
	if !(t >= 0 && t <= 1) {
		return fmt.Errorf("siamese: threshold %g outside [0, 1]", t)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.threshold = t
	return nil
}

// Same reports the model's verdict for a score: s >= Threshold().
func (m *Model) Same(s Score) bool { return s.Same(m.Threshold()) }

// embedPreprocessed is Network.EmbedPreprocessed.
func (m *Model) embedPreprocessed(x *tensor.Dense) ([]Embedding, error) {
	in := m.cfg.Input
	if x == nil || x.Dtype() != tensor.Float32 || x.Dims() != 4 || x.Shape()[1] != in.Channels || x.Shape()[2] != in.Size || x.Shape()[3] != in.Size {
		return nil, fmt.Errorf("siamese: EmbedPreprocessed wants a float32 (N, %d, %d, %d) tensor", in.Channels, in.Size, in.Size)
	}
	if x.Shape()[0] == 0 {
		return nil, errors.New("siamese: no images to embed")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Embedding
	all := x.Data().([]float32)
	per := len(all) / x.Shape()[0]
	for lo := 0; lo < x.Shape()[0]; lo += MaxBatch {
		hi := min(lo+MaxBatch, x.Shape()[0])
		chunk := tensor.New(tensor.WithShape(hi-lo, in.Channels, in.Size, in.Size), tensor.WithBacking(all[lo*per:hi*per]))
		es, err := m.embedTensor(0, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// Between returns the unweighted distance of two embeddings: Σ|a_i - b_i|
// for L1, Σ(a_i - b_i)² for L2 and 1 - cos(a, b) for Cosine, the quantity
// the output layer weighs. It fails for embeddings of different lengths.
func (d Distance) Between(a, b Embedding) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("siamese: embeddings of length %d and %d", len(a), len(b))
	}
	var s float64
	switch d {
	case L1:
		for i := range a {
			s += math.Abs(float64(a[i]) - float64(b[i]))
		}
	case L2:
		for i := range a {
			x := float64(a[i]) - float64(b[i])
			s += x * x
		}
	case Cosine:
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		s = 1 - ab/(math.Sqrt(aa+numeric.Eps)*math.Sqrt(bb+numeric.Eps))
	default:
		return 0, fmt.Errorf("siamese: distance %v", d)
	}
	return s, nil
}
