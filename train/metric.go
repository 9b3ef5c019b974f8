package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/loss"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// EmbeddingLoss is the loss of a metric learning stage (MetricConfig).
// Its value is the name saved in run records and checkpoints; the zero
// value means TripletBatchAll.
type EmbeddingLoss string

const (
	// TripletBatchHard is the triplet loss with batch-hard mining
	// (Hermans, Beyer & Leibe 2017): each anchor's farthest positive and
	// nearest negative in the batch (loss.Triplet with loss.BatchHard).
	TripletBatchHard EmbeddingLoss = "triplet-hard"
	// TripletBatchAll is the triplet loss averaged over the batch's valid
	// triplets whose loss is positive (loss.Triplet with loss.BatchAll).
	TripletBatchAll EmbeddingLoss = "triplet-all"
	// Contrastive is the contrastive loss of every pair of the batch
	// (loss.ContrastiveBatch).
	Contrastive EmbeddingLoss = "contrastive"
)

// EmbeddingLosses lists the metric losses, for flags' help.
func EmbeddingLosses() []EmbeddingLoss {
	return []EmbeddingLoss{TripletBatchHard, TripletBatchAll, Contrastive}
}

// ParseEmbeddingLoss reads a flag's value: "triplet-hard", "triplet-all" or
// "contrastive" in any case; "" is TripletBatchAll.
func ParseEmbeddingLoss(s string) (EmbeddingLoss, error) {
	k := EmbeddingLoss(strings.ToLower(strings.TrimSpace(s)))
	if k == "" {
		return TripletBatchAll, nil
	}
	if !slices.Contains(EmbeddingLosses(), k) {
		return "", fmt.Errorf("train: unknown metric loss %q (want triplet-hard, triplet-all or contrastive)", s)
	}
	return k, nil
}

// MetricConfig describes a metric learning stage: the model's towers
// (encoder and head) learn embeddings in which images of one class lie
// closer together than images of different classes, from batches of P
// classes with M images each. When the model compares embeddings by
// cosine distance they are scaled to unit length before the loss, so that
// the Euclidean distances the loss reads order pairs as the cosine does.
// Zero fields take the documented defaults.
type MetricConfig struct {
	// Loss is the objective; default TripletBatchAll (batch-hard mining
	// can collapse a randomly initialised encoder's embeddings to one
	// point: see OneShotTripletRecipe).
	Loss EmbeddingLoss
	// Margin of the loss; default 0.2 for the triplet losses and 1 for
	// Contrastive (a distance between unit vectors lies in [0, 2]).
	Margin float64
	// P classes with M images each make a batch; defaults 16 and 4.
	// M must be 2 or more, for positives.
	P, M int
	// Epochs to train; default 10.
	Epochs int
	// StepsPerEpoch is the number of batches per epoch; required.
	StepsPerEpoch int
	// Optimizer and its settings; default Adam, learning rate 1e-4.
	Optimizer Optimizer
	// Schedule of the learning rate; default constant.
	Schedule Schedule
	// Seed drives Dropout masks; the batches carry their own seed.
	Seed uint64
	// Dir receives MetricModel, MetricCheckpoint, MetricLog and
	// MetricPlot. Empty: nothing is written.
	Dir string
	// Progress receives a progress bar or plain lines, as Config.Progress.
	Progress io.Writer
}

// WithDefaults returns c with zero fields replaced by their defaults.
func (c MetricConfig) WithDefaults() MetricConfig {
	if c.Loss == "" {
		c.Loss = TripletBatchAll
	}
	if c.Margin == 0 {
		c.Margin = 0.2
		if c.Loss == Contrastive {
			c.Margin = 1
		}
	}
	if c.P == 0 {
		c.P = 16
	}
	if c.M == 0 {
		c.M = 4
	}
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	c.Optimizer = c.Optimizer.WithDefaults()
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c MetricConfig) Validate() error {
	d := c.WithDefaults()
	var errs []error
	if _, err := ParseEmbeddingLoss(string(d.Loss)); err != nil {
		errs = append(errs, fmt.Errorf("train: metric learning: %w", errors.Unwrap(err)))
	}
	if !(d.Margin > 0) || math.IsInf(d.Margin, 0) {
		errs = append(errs, fmt.Errorf("train: metric learning: margin %v (want a positive number)", c.Margin))
	}
	if d.P < 2 || d.M < 2 {
		errs = append(errs, fmt.Errorf("train: metric learning: %d classes of %d images per batch (want 2 or more of each)", d.P, d.M))
	}
	if d.Epochs <= 0 || d.StepsPerEpoch <= 0 {
		errs = append(errs, fmt.Errorf("train: metric learning: epochs %d, steps per epoch %d (both must be positive)", c.Epochs, c.StepsPerEpoch))
	}
	errs = append(errs, d.Optimizer.Validate(), d.Schedule.Validate())
	return errors.Join(errs...)
}

// withoutIO returns c without its writer and folder, the parts a resumed
// run may change.
func (c MetricConfig) withoutIO() MetricConfig {
	c.Progress, c.Dir = nil, ""
	return c
}

// Checkpoint metadata keys and tensor name prefixes of metric learning.
const (
	metricStateKey  = "train.metric.state"
	metricConfigKey = "train.metric.config"
	metricBest      = "train.metric.best."
)

// MetricTrainer trains a Siamese model's towers with a metric learning
// loss. It shares pretraining's loop, validation and checkpoints: the
// epoch with the best one-shot validation accuracy is kept, and a
// cancelled or killed run resumes from MetricCheckpoint. Its History's
// TrainAcc is the in-batch precision@1: the fraction of a batch's images
// whose nearest other image in the batch (by the distance the loss reads)
// is of their class.
type MetricTrainer struct{ p *Pretrainer }

// NewMetricTrainer prepares a metric learning run of m on batches of
// cfg.P classes with cfg.M images each from data (ClassBalancedImages
// draws such batches), choosing the model with the best one-shot accuracy
// on val (nil: the last one).
func NewMetricTrainer(m *siamese.Model, data ClassBatches, val *OneShotValidation, cfg MetricConfig) (*MetricTrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil || data == nil {
		return nil, errors.New("train: metric learning: a model and training data are required")
	}
	if m.Config().SeparateTowers {
		return nil, errors.New("train: metric learning: the model has separate towers; metric learning trains one shared tower")
	}
	if data.NumClasses() < 2 {
		return nil, fmt.Errorf("train: metric learning: %d classes, want at least 2", data.NumClasses())
	}
	cfg = cfg.WithDefaults()
	pc := PretrainConfig{
		Epochs: cfg.Epochs, StepsPerEpoch: cfg.StepsPerEpoch, BatchSize: cfg.P * cfg.M,
		Optimizer: cfg.Optimizer, Schedule: cfg.Schedule, Seed: cfg.Seed, Dir: cfg.Dir, Progress: cfg.Progress,
	}
	p := &Pretrainer{m: m, cfg: pc, data: data, val: val, files: stageFiles{
		what: "metric learning", model: MetricModel, ckpt: MetricCheckpoint, log: MetricLog, plot: MetricPlot,
		stateKey: metricStateKey, configKey: metricConfigKey, best: metricBest,
		accuracy: "in-batch precision@1", config: func() any { return cfg.withoutIO() },
	}}
	p.obj = &metricObjective{cfg: cfg, normalize: m.Config().Distance == siamese.Cosine}
	return &MetricTrainer{p}, nil
}

// Run trains for the configured epochs or until ctx is cancelled, then
// leaves the model at its best validation epoch, as Pretrainer.Run does.
// With a Dir it writes MetricCheckpoint after every epoch and when
// cancelled; Resume continues from it.
func (t *MetricTrainer) Run(ctx context.Context) error { return t.p.Run(ctx) }

// Resume restores the run whose checkpoint is path (MetricCheckpoint in
// the interrupted run's Dir), as Pretrainer.Resume does; the trainer must
// be made as the interrupted run's was.
func (t *MetricTrainer) Resume(path string) error { return t.p.Resume(path) }

// History returns the statistics of the epochs done so far.
func (t *MetricTrainer) History() []PretrainEpoch { return t.p.History() }

// Step returns the number of training steps done.
func (t *MetricTrainer) Step() uint64 { return t.p.Step() }

// metricObjective puts a metric learning loss on the embeddings.
type metricObjective struct {
	cfg       MetricConfig
	normalize bool     // scale embeddings to unit length first
	y         *G.Node  // class ids as floats, (n)
	emb       *G.Value // the embeddings the loss read, after each step (layers.Read)
}

func (o *metricObjective) build(g *layers.Graph, e *G.Node, n int) (*G.Node, error) {
	if n%o.cfg.M != 0 {
		return nil, fmt.Errorf("train: metric learning: batch of %d images is not classes of %d", n, o.cfg.M)
	}
	o.y = G.NewVector(g.G, tensor.Float32, G.WithShape(n), G.WithName("metric.classes"))
	if o.normalize {
		var err error
		if e, err = layers.L2Normalize(e, 1); err != nil {
			return nil, fmt.Errorf("train: metric learning: %w", err)
		}
	}
	o.emb = layers.Read(e)
	return metricLoss(o.cfg, e, o.y)
}

// metricLoss applies c's loss (after defaults) to embeddings e (n, d)
// with class ids y (n).
func metricLoss(c MetricConfig, e, y *G.Node) (*G.Node, error) {
	switch c.Loss {
	case TripletBatchAll:
		return loss.Triplet(e, y, c.Margin, loss.BatchAll)
	case Contrastive:
		return loss.ContrastiveBatch(e, y, c.Margin)
	}
	return loss.Triplet(e, y, c.Margin, loss.BatchHard)
}

func (o *metricObjective) feed(classes []int) error {
	ys := make([]float32, len(classes))
	for i, c := range classes {
		ys[i] = float32(c)
	}
	return G.Let(o.y, tensor.New(tensor.WithShape(len(ys)), tensor.WithBacking(ys)))
}

func (o *metricObjective) correct(classes []int) int {
	return nearestSameClass((*o.emb).Data().([]float32), classes)
}

func (o *metricObjective) params() []*layers.Param { return nil }

// nearestSameClass counts the rows of emb (n×d, row-major) whose nearest
// other row by Euclidean distance has their class; ties go to the lower
// row.
func nearestSameClass(emb []float32, classes []int) int {
	n := len(classes)
	if n < 2 {
		return 0
	}
	d := len(emb) / n
	right := 0
	for i := range n {
		best, bestD := -1, math.Inf(1)
		for j := range n {
			if j == i {
				continue
			}
			var s float64
			for k := range d {
				x := float64(emb[i*d+k]) - float64(emb[j*d+k])
				s += x * x
			}
			if s < bestD {
				best, bestD = j, s
			}
		}
		if classes[best] == classes[i] {
			right++
		}
	}
	return right
}

// ClassBalancedImages draws metric learning batches from a labelled
// dataset: each batch holds P classes with M images each, consecutive
// (the M images of the first class, then the second's...). The classes
// of step s, and their images, come from a generator keyed by the seed
// and s alone, so the same step always gives the same batch and a resumed
// run draws what an uninterrupted one would. Classes are drawn without
// replacement; a class's images too, unless it has fewer than M, when
// all of them are taken and then drawn again (distorted afresh by the
// augmentation). With rotations each quarter turn of a class is a class
// of its own, as in SampledImages.
type ClassBalancedImages struct {
	s       *SampledImages
	p, m    int
	byClass [][]int // dataset image indices of each label before turns
}

// NewClassBalancedImages samples P×M batches from the images of ds listed
// in indices (nil: all), as NewSampledImages does; p classes (of the
// labels, counting turns) must exist.
func NewClassBalancedImages(ds data.Dataset, indices []int, input preprocess.Config, aug data.Augment, rotations bool, p, m, workers int, seed uint64) (*ClassBalancedImages, error) {
	if p < 2 || m < 2 {
		return nil, fmt.Errorf("train: metric learning: %d classes of %d images per batch (want 2 or more of each)", p, m)
	}
	s, err := NewSampledImages(ds, indices, input, aug, rotations, workers, seed)
	if err != nil {
		return nil, err
	}
	if s.NumClasses() < p {
		return nil, fmt.Errorf("train: metric learning: %d classes per batch, but the training images have %d", p, s.NumClasses())
	}
	byClass := make([][]int, len(s.classOf))
	for _, i := range s.indices {
		l := s.classOf[ds.Class(i)]
		byClass[l] = append(byClass[l], i)
	}
	return &ClassBalancedImages{s: s, p: p, m: m, byClass: byClass}, nil
}

// NumClasses implements ClassBatches.
func (c *ClassBalancedImages) NumClasses() int { return c.s.NumClasses() }

// Batcher returns the batcher, to set its image cache.
func (c *ClassBalancedImages) Batcher() *data.Batcher { return c.s.batcher }

// Items returns the images of step's batch and their classes, without
// loading them.
func (c *ClassBalancedImages) Items(step uint64) ([]data.Item, []int) {
	rng := rand.New(rand.NewPCG(c.s.seed^0x706d2d636c617373, step)) // "pm-class"
	k := c.s.NumClasses()
	// A partial Fisher-Yates shuffle of the labels picks P of them.
	labels := make([]int, k)
	for i := range labels {
		labels[i] = i
	}
	items := make([]data.Item, 0, c.p*c.m)
	classes := make([]int, 0, c.p*c.m)
	for i := range c.p {
		j := i + rng.IntN(k-i)
		labels[i], labels[j] = labels[j], labels[i]
		l := labels[i]
		imgs := slices.Clone(c.byClass[l/c.s.turns])
		rng.Shuffle(len(imgs), func(a, b int) { imgs[a], imgs[b] = imgs[b], imgs[a] })
		for t := range c.m {
			items = append(items, data.Item{Index: imgs[t%len(imgs)], Turns: l % c.s.turns})
			classes = append(classes, l)
		}
	}
	return items, classes
}

// Batch implements ClassBatches; n must be P×M.
func (c *ClassBalancedImages) Batch(step uint64, n int) (*tensor.Dense, []int, error) {
	if n != c.p*c.m {
		return nil, nil, fmt.Errorf("train: metric learning: a batch of %d images asked of a sampler of %d classes of %d", n, c.p, c.m)
	}
	items, classes := c.Items(step)
	x, err := c.s.batcher.Images(items, step)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	return x, classes, nil
}
