package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/loss"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ClassBatches gives a classification pretraining run its data: images
// with class labels. The same step must always give the same batch.
type ClassBatches interface {
	// NumClasses is the number of classes the labels range over.
	NumClasses() int
	// Batch returns n images for step, (n, C, S, S) with the model's
	// preprocessing applied, and their classes in [0, NumClasses()).
	Batch(step uint64, n int) (x *tensor.Dense, classes []int, err error)
}

// PretrainConfig describes a classification pretraining run: the model's
// towers (encoder and head) with a linear classifier on top learn to tell
// the training classes apart with softmax cross-entropy. Zero fields take
// the documented defaults.
type PretrainConfig struct {
	// Epochs to train; default 10.
	Epochs int
	// StepsPerEpoch is the number of batches per epoch; required.
	StepsPerEpoch int
	// BatchSize is the number of images per step; default 64.
	BatchSize int
	// Optimizer and its settings; default Adam, learning rate 1e-4.
	Optimizer Optimizer
	// Schedule of the learning rate; default constant.
	Schedule Schedule
	// LabelSmoothing moves this much of each target's probability mass
	// evenly onto all classes; default 0, in [0, 1).
	LabelSmoothing float64
	// CosineScale, when positive, makes the classifier a cosine classifier
	// (normalised softmax): the logit of a class is CosineScale times the
	// cosine between the embedding and the class's weight vector, with no
	// bias, so training separates classes by the angle the one-shot
	// evaluation's cosine distance reads. 16 suits hundreds of classes.
	// Default 0: a linear classifier (a Dense layer with bias).
	CosineScale float64 `json:",omitempty"`
	// Seed drives the classifier's initialisation and Dropout masks; the
	// ClassBatches carry their own seed.
	Seed uint64
	// Dir receives PretrainModel, PretrainCheckpoint, PretrainLog and
	// PretrainPlot. Empty: nothing is written.
	Dir string
	// Progress receives a progress bar or plain lines, as Config.Progress.
	Progress io.Writer
}

// WithDefaults returns c with zero fields replaced by their defaults.
func (c PretrainConfig) WithDefaults() PretrainConfig {
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	c.Optimizer = c.Optimizer.WithDefaults()
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c PretrainConfig) Validate() error {
	d := c.WithDefaults()
	var errs []error
	if d.Epochs <= 0 || d.StepsPerEpoch <= 0 || d.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("train: pretraining: epochs %d, steps per epoch %d, batch size %d (all must be positive)", c.Epochs, c.StepsPerEpoch, c.BatchSize))
	}
	if !(d.CosineScale >= 0) || math.IsInf(d.CosineScale, 0) {
		errs = append(errs, fmt.Errorf("train: pretraining: cosine scale %v (want 0 for a linear classifier, or a positive number)", c.CosineScale))
	}
	if !(d.LabelSmoothing >= 0 && d.LabelSmoothing < 1) {
		errs = append(errs, fmt.Errorf("train: pretraining: label smoothing %v outside [0, 1)", c.LabelSmoothing))
	}
	errs = append(errs, d.Optimizer.Validate(), d.Schedule.Validate())
	return errors.Join(errs...)
}

// PretrainEpoch is one epoch's row of the pretraining log.
type PretrainEpoch struct {
	Epoch        int
	Step         uint64
	Images       uint64  // training images seen
	TrainLoss    float64 // mean cross-entropy over the epoch's steps
	TrainAcc     float64 // fraction of the epoch's images classified right
	ValOneShot   float64 // one-shot accuracy on the validation tasks; NaN without
	LearningRate float64
	Seconds      float64
}

// Pretrainer trains a Siamese model's towers as a classifier.
type Pretrainer struct {
	m    *siamese.Model
	cfg  PretrainConfig
	data ClassBatches
	val  *OneShotValidation
	fc   *layers.Dense
	st   pretrainState
	best [][]float32 // model parameters at the best validation accuracy
	opt  *optimizer
	// resumed holds the optimizer's moments read by Resume, by name,
	// until Run builds the optimizer.
	resumed map[string][]float32
	// obj is the stage's objective on the towers' embeddings: the
	// classifier, or a metric learning loss.
	obj objective
	// files names the stage in errors, logs, files and checkpoints.
	files stageFiles
}

// objective is what a stage that trains the towers on labelled images
// puts on top of the embeddings.
type objective interface {
	// build returns the loss of a batch of n embeddings e, adding its
	// inputs (the labels) to g.
	build(g *layers.Graph, e *G.Node, n int) (*G.Node, error)
	// feed sets the labels of a batch.
	feed(classes []int) error
	// correct counts the images of the last batch run that the stage's
	// accuracy counts as right.
	correct(classes []int) int
	// params are the objective's own learnable parameters, saved in
	// checkpoints beside the model.
	params() []*layers.Param
}

// stageFiles names a stage that trains the towers: pretraining or metric
// learning.
type stageFiles struct {
	what                   string     // in errors and progress lines
	model, ckpt, log, plot string     // file names in Dir
	stateKey, configKey    string     // checkpoint metadata keys
	best                   string     // tensor name prefix of the best epoch's parameters
	accuracy               string     // the plot's name of TrainAcc
	config                 func() any // the settings a checkpoint records and Resume compares
}

// pretrainFiles names classification pretraining.
func pretrainFiles(p *Pretrainer) stageFiles {
	return stageFiles{
		what: "pretraining", model: PretrainModel, ckpt: PretrainCheckpoint, log: PretrainLog, plot: PretrainPlot,
		stateKey: pretrainStateKey, configKey: pretrainConfigKey, best: pretrainBest,
		accuracy: "train accuracy", config: func() any { return p.cfg.withoutIO() },
	}
}

// pretrainState is what a pretraining checkpoint holds besides tensors.
type pretrainState struct {
	Step       uint64 // steps done
	OptSteps   int
	EpochLoss  float64 // running sum of this epoch's losses
	EpochRight int     // this epoch's images classified right so far
	HasBest    bool
	BestAcc    float64
	History    []PretrainEpoch
}

// checkpointPrefix starts the names of every tensor and metadata key a
// checkpoint adds to the model file; siamese.Load ignores them.
const checkpointPrefix = "train."

// Checkpoint metadata keys and tensor name prefixes.
const (
	pretrainStateKey  = "train.pretrain.state"
	pretrainConfigKey = "train.pretrain.config"
	pretrainBest      = "train.pretrain.best."
)

// NewPretrainer prepares a pretraining run of m on data, choosing the model
// with the best one-shot accuracy on val (nil: the last one).
func NewPretrainer(m *siamese.Model, data ClassBatches, val *OneShotValidation, cfg PretrainConfig) (*Pretrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil || data == nil {
		return nil, errors.New("train: pretraining: a model and training data are required")
	}
	if m.Config().SeparateTowers {
		return nil, errors.New("train: pretraining: the model has separate towers; pretraining trains one shared tower")
	}
	if data.NumClasses() < 2 {
		return nil, fmt.Errorf("train: pretraining: %d classes, want at least 2", data.NumClasses())
	}
	cfg = cfg.WithDefaults()
	// The classifier is saved in checkpoints beside the model, hence the
	// prefix.
	fc := layers.NewDense(checkpointPrefix+"pretrain.fc", m.Config().EmbeddingSize(), data.NumClasses())
	layers.InitLinear(fc, rand.New(rand.NewPCG(cfg.Seed, 0x66632d696e6974))) // "fc-init"
	p := &Pretrainer{m: m, cfg: cfg, data: data, val: val, fc: fc}
	p.obj, p.files = &classifier{p: p}, pretrainFiles(p)
	return p, nil
}

// History returns the statistics of the epochs done so far.
func (p *Pretrainer) History() []PretrainEpoch { return slices.Clone(p.st.History) }

// Step returns the number of training steps done.
func (p *Pretrainer) Step() uint64 { return p.st.Step }

// Run trains for the configured epochs or until ctx is cancelled, then
// leaves the model at its best validation epoch (the last without
// validation). A cancelled run keeps the best model of the epochs it
// finished (and pretrain.safetensors on disk) and returns ctx's error.
// With a Dir it writes PretrainCheckpoint after every epoch and when
// cancelled; Resume continues from it. A non-finite input, loss, gradient
// or update stops it as it stops Trainer.Run.
func (p *Pretrainer) Run(ctx context.Context) error {
	n := p.cfg.BatchSize
	in := p.m.Config().Input
	prefix := "train: " + p.files.what
	var (
		gr stepGraph
		x  *G.Node
	)
	err := p.m.Network().ChangeParams(func() error {
		g := layers.NewGraph(layers.Training, p.cfg.Seed)
		gr.g = g
		x = G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(n, in.Channels, in.Size, in.Size), G.WithName("pretrain.x"))
		e, err := p.m.Network().Embeddings(g, 0, x)
		if err != nil {
			return err
		}
		cost, err := p.obj.build(g, e, n)
		if err != nil {
			return err
		}
		gr.nodes, gr.params = g.Learnables()
		if _, err := G.Grad(cost, gr.nodes...); err != nil {
			return fmt.Errorf("%s: gradients: %w", prefix, err)
		}
		gr.loss = layers.Read(cost)
		gr.vm = layers.NewTapeMachine(g, G.BindDualValues(gr.nodes...))
		return nil
	})
	if err != nil {
		return err
	}
	defer gr.vm.Close()
	opt := newOptimizer(p.cfg.Optimizer, gr.params)
	if p.resumed != nil {
		var missing []string
		for _, s := range opt.state() {
			v, ok := p.resumed[s.Name]
			if !ok || len(v) != len(s.Float32s()) {
				missing = append(missing, s.Name)
				continue
			}
			copy(s.Float32s(), v)
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s: resume: the checkpoint lacks optimizer state %v", prefix, missing)
		}
		opt.t = p.st.OptSteps
		p.resumed = nil
	}
	p.opt = opt
	spe := uint64(p.cfg.StepsPerEpoch)
	total := spe * uint64(p.cfg.Epochs)
	var classes []int // the current step's
	l := &loop{
		prefix: prefix, m: p.m, gr: &gr, opt: opt, step: &p.st.Step,
		stepsPerEpoch: spe, epochs: p.cfg.Epochs, batch: n, unit: "images",
		dir: p.cfg.Dir, progress: p.cfg.Progress,
		watch: slices.Concat(p.m.Network().Params(), p.obj.params()),
		hooks: hooks{
			feed: func(step uint64) error {
				xt, cs, err := p.data.Batch(step, n)
				if err != nil {
					return err
				}
				if i := firstNonFinite(xt.Data().([]float32)); i >= 0 {
					return fmt.Errorf("image %d holds a non-finite value; the step was not run", i/max(xt.Shape().TotalSize()/n, 1))
				}
				if err := p.obj.feed(cs); err != nil {
					return err
				}
				classes = cs
				return G.Let(x, xt)
			},
			learningRate: func(step uint64) float64 {
				return p.cfg.Optimizer.LearningRate * p.cfg.Schedule.factor(step, spe, total)
			},
			afterStep: func(_ uint64, l float64) {
				p.st.EpochRight += p.obj.correct(classes)
				p.st.EpochLoss += l
			},
			endEpoch: func(seconds, lr float64) (string, error) {
				ep := PretrainEpoch{
					Epoch: len(p.st.History) + 1, Step: p.st.Step, Images: p.st.Step * uint64(n),
					TrainLoss: p.st.EpochLoss / float64(spe), TrainAcc: float64(p.st.EpochRight) / float64(spe*uint64(n)),
					ValOneShot: math.NaN(), LearningRate: lr, Seconds: seconds,
				}
				p.st.EpochLoss, p.st.EpochRight = 0, 0
				if err := p.endEpoch(&ep); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s epoch %d  step %d  loss %.4f  train acc %.4f  val one-shot %.4f  lr %.3g  %.1fs",
					p.files.what, ep.Epoch, ep.Step, ep.TrainLoss, ep.TrainAcc, ep.ValOneShot, ep.LearningRate, ep.Seconds), nil
			},
			interrupted: p.checkpoint,
		},
	}
	err = l.run(ctx)
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		p.restoreBest()
	}
	return err
}

// classify attaches the classifier to the embeddings e (n, d) and returns
// the logits (n, classes): the linear layer, or with CosineScale the
// scaled cosines between e's rows and the weight's.
func (p *Pretrainer) classify(g *layers.Graph, e *G.Node) (*G.Node, error) {
	s := p.cfg.CosineScale
	if s == 0 {
		return p.fc.Forward(g, e)
	}
	en, err := layers.L2Normalize(e, s)
	if err != nil {
		return nil, fmt.Errorf("train: pretraining: %w", err)
	}
	wn, err := layers.L2Normalize(g.Node(p.fc.Weight), 1)
	if err != nil {
		return nil, fmt.Errorf("train: pretraining: %w", err)
	}
	return layers.MatMulT(p.fc.Weight.Name, en, wn)
}

// classifier is pretraining's objective: a linear or cosine classifier
// over the training classes, trained by softmax cross-entropy.
type classifier struct {
	p      *Pretrainer
	y      *G.Node  // one-hot targets, (n, classes)
	logits *G.Value // read after each step (layers.Read)
}

func (c *classifier) build(g *layers.Graph, e *G.Node, n int) (*G.Node, error) {
	c.y = G.NewMatrix(g.G, tensor.Float32, G.WithShape(n, c.p.data.NumClasses()), G.WithName("pretrain.targets"))
	logits, err := c.p.classify(g, e)
	if err != nil {
		return nil, err
	}
	c.logits = layers.Read(logits)
	return loss.SoftmaxCrossEntropy(logits, c.y)
}

func (c *classifier) feed(classes []int) error {
	n, k := len(classes), c.p.data.NumClasses()
	targets, err := loss.OneHot(classes, k, c.p.cfg.LabelSmoothing)
	if err != nil {
		return err
	}
	return G.Let(c.y, tensor.New(tensor.WithShape(n, k), tensor.WithBacking(targets)))
}

func (c *classifier) correct(classes []int) int {
	return correct((*c.logits).Data().([]float32), classes, c.p.data.NumClasses())
}

func (c *classifier) params() []*layers.Param { return []*layers.Param{c.p.fc.Weight, c.p.fc.Bias} }

// correct counts the rows of logits (n, k) whose largest entry is the class.
func correct(logits []float32, classes []int, k int) int {
	c := 0
	for r, want := range classes {
		row := logits[r*k : (r+1)*k]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		if best == want {
			c++
		}
	}
	return c
}

// endEpoch validates, keeps the best model and writes the log and model.
func (p *Pretrainer) endEpoch(ep *PretrainEpoch) error {
	improved := p.val == nil
	if p.val != nil {
		acc, err := p.val.Accuracy(p.m)
		if err != nil {
			return fmt.Errorf("train: %s: validation: %w", p.files.what, err)
		}
		ep.ValOneShot = acc
		if !p.st.HasBest || acc > p.st.BestAcc {
			p.st.BestAcc, p.st.HasBest, improved = acc, true, true
			p.best = p.best[:0]
			for _, q := range p.m.Network().Params() {
				p.best = append(p.best, slices.Clone(q.Float32s()))
			}
		}
	}
	p.st.History = append(p.st.History, *ep)
	if p.cfg.Dir == "" {
		return nil
	}
	if err := writePretrainLog(filepath.Join(p.cfg.Dir, p.files.log), p.st.History); err != nil {
		return err
	}
	acc := p.files.accuracy
	series := map[string][]float64{acc: nil}
	for _, e := range p.st.History {
		series[acc] = append(series[acc], e.TrainAcc)
		if !math.IsNaN(e.ValOneShot) {
			series["held-out one-shot accuracy"] = append(series["held-out one-shot accuracy"], e.ValOneShot)
		}
	}
	if err := eval.PlotCurves(filepath.Join(p.cfg.Dir, p.files.plot), p.files.what, series); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if improved {
		if err := p.m.Save(filepath.Join(p.cfg.Dir, p.files.model)); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return p.checkpoint()
}

// restoreBest puts the best validation epoch's parameters back.
func (p *Pretrainer) restoreBest() {
	if p.best == nil {
		return
	}
	_ = p.m.Network().ChangeParams(func() error {
		for i, q := range p.m.Network().Params() {
			copy(q.Float32s(), p.best[i])
		}
		return nil
	})
}

func writePretrainLog(path string, h []PretrainEpoch) error {
	rows := make([][]string, len(h))
	for i, e := range h {
		rows[i] = []string{strconv.Itoa(e.Epoch), strconv.FormatUint(e.Step, 10), strconv.FormatUint(e.Images, 10),
			formatFloat(e.TrainLoss), formatFloat(e.TrainAcc), formatFloat(e.ValOneShot), formatFloat(e.LearningRate), formatFloat(e.Seconds)}
	}
	return writeCSV(path, []string{"epoch", "step", "images", "train_loss", "train_accuracy", "val_oneshot", "learning_rate", "seconds"}, rows)
}

// SampledImages draws classification batches from a labelled dataset:
// image k of step s comes from a generator keyed by the seed and s, drawn
// uniformly from the listed images (and, with rotations, from their four
// quarter turns, each turn of a class being a class of its own).
type SampledImages struct {
	indices []int
	classOf map[int]int // dataset class -> label
	turns   int
	batcher *data.Batcher
	ds      data.Dataset
	seed    uint64
}

// NewSampledImages samples from the images of ds listed in indices (nil:
// all), rotated when rotations is set, augmented with aug and
// preprocessed with input on workers goroutines.
func NewSampledImages(ds data.Dataset, indices []int, input preprocess.Config, aug data.Augment, rotations bool, workers int, seed uint64) (*SampledImages, error) {
	if ds == nil {
		return nil, errors.New("train: pretraining: nil dataset")
	}
	if indices == nil {
		indices = make([]int, ds.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	if len(indices) == 0 {
		return nil, errors.New("train: pretraining: no training images")
	}
	s := &SampledImages{indices: slices.Clone(indices), classOf: map[int]int{}, turns: 1, ds: ds, seed: seed}
	if rotations {
		s.turns = 4
	}
	var classes []int
	for _, i := range indices {
		if i < 0 || i >= ds.Len() {
			return nil, fmt.Errorf("train: pretraining: image index %d outside [0, %d)", i, ds.Len())
		}
		if _, ok := s.classOf[ds.Class(i)]; !ok {
			s.classOf[ds.Class(i)] = 0
			classes = append(classes, ds.Class(i))
		}
	}
	slices.Sort(classes)
	for l, c := range classes {
		s.classOf[c] = l
	}
	b, err := data.NewBatcher(ds, input, aug, workers, seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	s.batcher = b
	return s, nil
}

// NumClasses implements ClassBatches.
func (s *SampledImages) NumClasses() int { return len(s.classOf) * s.turns }

// Batcher returns the batcher, to set its image cache.
func (s *SampledImages) Batcher() *data.Batcher { return s.batcher }

// Batch implements ClassBatches.
func (s *SampledImages) Batch(step uint64, n int) (*tensor.Dense, []int, error) {
	rng := rand.New(rand.NewPCG(s.seed^0x636c617373, step)) // "class"
	items := make([]data.Item, n)
	classes := make([]int, n)
	for k := range items {
		j := rng.IntN(len(s.indices) * s.turns)
		i, t := s.indices[j/s.turns], j%s.turns
		items[k] = data.Item{Index: i, Turns: t}
		classes[k] = s.classOf[s.ds.Class(i)]*s.turns + t
	}
	x, err := s.batcher.Images(items, step)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	return x, classes, nil
}

// OneShotValidation is a fixed set of N-way one-shot tasks drawn from
// held-out classes: in each episode N classes are chosen, and from each
// two different images, one the class's reference and one a query; every
// query is to be matched to its class's reference among the N.
type OneShotValidation struct {
	tasks []eval.Task
	ways  int
}

// NewOneShotValidation draws episodes of ways-way tasks from the images of
// ds listed in indices (nil: all; classes with fewer than two images are
// skipped), keyed by seed, with eval.Episodes.
func NewOneShotValidation(ds data.Dataset, indices []int, ways, episodes int, seed uint64) (*OneShotValidation, error) {
	if ds == nil {
		return nil, fmt.Errorf("train: one-shot validation: no dataset")
	}
	tasks, err := eval.Episodes(ds, indices, ways, episodes, seed)
	if err != nil {
		return nil, fmt.Errorf("train: one-shot validation: %w", err)
	}
	return &OneShotValidation{tasks: tasks, ways: ways}, nil
}

// Tasks returns the number of tasks.
func (v *OneShotValidation) Tasks() int { return len(v.tasks) }

// Accuracy returns the fraction of tasks m answers correctly, comparing the
// towers' embeddings by the model's distance, unweighted (the output
// layer, which pretraining does not train, is left out).
func (v *OneShotValidation) Accuracy(m *siamese.Model) (float64, error) {
	r, err := eval.OneShot(distanceScorer{m}, v.tasks)
	if err != nil {
		return 0, err
	}
	return r.Accuracy, nil
}

// ModelAccuracy returns the fraction of tasks m answers correctly by its
// own scores (the output layer included), as a user's Compare calls would.
func (v *OneShotValidation) ModelAccuracy(m *siamese.Model) (float64, error) {
	r, err := eval.OneShot(OneShotScorer(m), v.tasks)
	if err != nil {
		return 0, err
	}
	return r.Accuracy, nil
}
