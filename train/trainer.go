package train

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/loss"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Batches gives the trainer its data: the training pairs of every global
// step, as model input. The same step must always give the same batch, so
// that an interrupted run resumes exactly where it stopped.
type Batches interface {
	// Batch returns n pairs for step: a and b of shape (n, C, S, S) with
	// the model's preprocessing applied, and their labels (1 = same).
	Batch(step uint64, n int) (a, b *tensor.Dense, labels []float32, err error)
}

// Validation scores a fixed list of pairs with a model in inference mode.
type Validation interface {
	// Logits returns the model's logit and the label (1 = same) of every
	// validation pair.
	Logits(m *siamese.Model) (logits, labels []float64, err error)
}

// Config describes a training run. Zero fields take the documented
// defaults.
type Config struct {
	// Epochs to train; default 10.
	Epochs int
	// StepsPerEpoch is the number of batches per epoch; required.
	StepsPerEpoch int
	// BatchSize is the number of pairs per step; default 32.
	BatchSize int
	// Optimizer and its settings; default Adam, learning rate 1e-4.
	Optimizer Optimizer
	// Schedule of the learning rate; default constant.
	Schedule Schedule
	// Plateau cuts the learning rate when validation stops improving;
	// default off.
	Plateau Plateau
	// EarlyStopping stops after this many epochs without validation
	// improvement; default 0, off.
	EarlyStopping int
	// Metric is the validation metric watched by Plateau, EarlyStopping
	// and the best checkpoint; default MetricAUC.
	Metric Metric
	// Seed drives Dropout masks; the Batches carry their own seed.
	Seed uint64
	// Dir receives BestModel, Checkpoint, Log, CurvesPlot and ROCPlot.
	// Empty: nothing is written, and a copy of the best epoch's
	// parameters is kept in memory instead, for Trainer.UseBest.
	Dir string
	// Calibration is how the model's verdict threshold is set from the
	// validation scores whenever the validation metric improves; default
	// CalibrateF1, which TargetFAR > 0 turns into a false-accept limit.
	Calibration Calibration
	TargetFAR   float64
	// NoFeatureCache turns off the frozen-encoder fast path: by default,
	// when the whole encoder is frozen and the data are not augmented, each
	// image's encoder output is computed once, kept in memory and reused
	// across epochs, and only the head is trained.
	NoFeatureCache bool
	// Progress receives a progress bar (a terminal) or one line per epoch
	// and every few hundred steps (anything else); nil for none.
	Progress io.Writer
}

// WithDefaults returns c with zero fields replaced by their defaults.
func (c Config) WithDefaults() Config {
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Metric == "" {
		c.Metric = MetricAUC
	}
	c.Optimizer = c.Optimizer.WithDefaults()
	if c.Plateau.Factor == 0 {
		c.Plateau.Factor = 0.1
	}
	if c.Plateau.MinFactor == 0 {
		c.Plateau.MinFactor = 1e-3
	}
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c Config) Validate() error {
	d := c.WithDefaults()
	var errs []error
	if d.Epochs < 0 || d.StepsPerEpoch <= 0 || d.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("train: epochs %d, steps per epoch %d, batch size %d (all must be positive)", c.Epochs, c.StepsPerEpoch, c.BatchSize))
	}
	if d.Calibration != "" && d.Calibration != CalibrateF1 && d.Calibration != CalibrateNone {
		errs = append(errs, fmt.Errorf("train: calibration %q (want f1 or none)", c.Calibration))
	}
	if d.TargetFAR < 0 || d.TargetFAR >= 1 {
		errs = append(errs, fmt.Errorf("train: target false-accept rate %g outside [0, 1)", c.TargetFAR))
	}
	if d.Metric != MetricAUC && d.Metric != MetricLoss {
		errs = append(errs, fmt.Errorf("train: metric %q (want auc or loss)", c.Metric))
	}
	if d.EarlyStopping < 0 || d.Plateau.Patience < 0 || d.Plateau.Factor <= 0 || d.Plateau.Factor >= 1 {
		errs = append(errs, fmt.Errorf("train: early stopping %d, plateau %+v", c.EarlyStopping, c.Plateau))
	}
	errs = append(errs, d.Optimizer.Validate(), d.Schedule.Validate())
	return errors.Join(errs...)
}

// EpochStats is one epoch's row of the log.
type EpochStats struct {
	Epoch        int     // 1-based
	Step         uint64  // steps done
	Pairs        uint64  // training pairs seen
	TrainLoss    float64 // mean binary cross-entropy over the epoch's steps
	ValLoss      float64 // NaN without validation
	ValAccuracy  float64 // at threshold 0.5
	ValAUC       float64
	ValEER       float64
	LearningRate float64 // at the epoch's last step
	Threshold    float64 // the verdict threshold calibrated this epoch (0 if not)
	Seconds      float64 // wall time of the epoch
}

// state is everything a checkpoint needs besides the model and the
// optimizer's moments.
type state struct {
	Step        uint64
	Epoch       int // epochs completed
	OptSteps    int
	PlateauMult float64
	BadEpochs   int // epochs without improvement (plateau)
	StaleEpochs int // epochs without improvement (early stopping)
	Best        float64
	HasBest     bool
	Stopped     bool
	History     []EpochStats
	EpochLoss   float64 // running sum of this epoch's losses
	EpochSteps  int
}

// Trainer trains a Siamese model with binary cross-entropy on its logits.
type Trainer struct {
	m     *siamese.Model
	cfg   Config
	data  Batches
	val   Validation
	st    state
	opt   *optimizer
	names map[*tensor.Dense]string
	// best holds the parameters and threshold of the epoch with the best
	// validation metric when there is no Dir to save BestModel in.
	best      [][]float32
	bestThres float64
}

// New prepares a training run of m. val may be nil (no validation: the
// metric-driven features are then inactive).
func New(m *siamese.Model, data Batches, val Validation, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil || data == nil {
		return nil, errors.New("train: a model and training data are required")
	}
	t := &Trainer{m: m, cfg: cfg.WithDefaults(), data: data, val: val, names: map[*tensor.Dense]string{}}
	t.st.PlateauMult = 1
	for _, p := range m.Network().Params() {
		t.names[p.Value] = p.Name
	}
	return t, nil
}

// History returns the statistics of the epochs done so far.
func (t *Trainer) History() []EpochStats { return append([]EpochStats(nil), t.st.History...) }

// Step returns the number of training steps done.
func (t *Trainer) Step() uint64 { return t.st.Step }

// graph is the compiled training graph of the pair stage.
type graph struct {
	stepGraph
	// feed sets the graph's inputs for a step.
	feed func(step uint64) error
}

// FeatureSource is implemented by Batches that can also give the pairs of
// a step and single unaugmented images, which lets the trainer compute a
// frozen encoder's output once per image and train only the head.
type FeatureSource interface {
	Batches
	// Pairs returns the pairs Batch(step, n) is made of.
	Pairs(step uint64, n int) ([]data.Pair, error)
	// Input returns image i preprocessed, (1, C, S, S), without
	// augmentation.
	Input(i int) (*tensor.Dense, error)
	// Augmenting reports whether batches are augmented (then every step
	// needs the encoder and the fast path is off).
	Augmenting() bool
}

// frozenFastPath reports whether the run can cache encoder outputs.
func (t *Trainer) frozenFastPath() (FeatureSource, bool) {
	fs, ok := t.data.(FeatureSource)
	if !ok || t.cfg.NoFeatureCache || fs.Augmenting() || t.m.Config().FrozenStages != resnet.Stages {
		return nil, false
	}
	return fs, true
}

func (t *Trainer) build() (*graph, error) {
	in := t.m.Config().Input
	n := t.cfg.BatchSize
	g := layers.NewGraph(layers.Training, t.cfg.Seed)
	gr := &graph{stepGraph: stepGraph{g: g}}
	y := G.NewMatrix(g.G, tensor.Float32, G.WithShape(n, 1), G.WithName("train.labels"))
	setLabels := func(labels []float32) error {
		return G.Let(y, tensor.New(tensor.WithShape(len(labels), 1), tensor.WithBacking(labels)))
	}
	var logits *G.Node
	var err error
	if fs, ok := t.frozenFastPath(); ok {
		f := t.m.Network().EncoderOutputSize()
		fa := G.NewMatrix(g.G, tensor.Float32, G.WithShape(n, f), G.WithName("train.features_a"))
		fb := G.NewMatrix(g.G, tensor.Float32, G.WithShape(n, f), G.WithName("train.features_b"))
		ea, eb, err := t.m.Network().PairEmbeddingsOfFeatures(g, fa, fb)
		if err != nil {
			return nil, err
		}
		if logits, err = t.m.Network().Logits(g, ea, eb); err != nil {
			return nil, err
		}
		cache := newFeatureCache(t.m, fs)
		gr.feed = func(step uint64) error {
			pairs, err := fs.Pairs(step, n)
			if err != nil {
				return err
			}
			a, b, labels, err := cache.batch(pairs)
			if err != nil {
				return err
			}
			if err := finiteInputs(a, b); err != nil {
				return err
			}
			return errors.Join(G.Let(fa, a), G.Let(fb, b), setLabels(labels))
		}
	} else {
		shape := G.WithShape(n, in.Channels, in.Size, in.Size)
		a := G.NewTensor(g.G, tensor.Float32, 4, shape, G.WithName("train.a"))
		b := G.NewTensor(g.G, tensor.Float32, 4, shape, G.WithName("train.b"))
		if logits, err = t.m.Network().PairLogits(g, a, b); err != nil {
			return nil, err
		}
		gr.feed = func(step uint64) error {
			at, bt, labels, err := t.data.Batch(step, n)
			if err != nil {
				return err
			}
			if err := finiteInputs(at, bt); err != nil {
				return err
			}
			return errors.Join(G.Let(a, at), G.Let(b, bt), setLabels(labels))
		}
	}
	cost, err := loss.BCEWithLogits(logits, y)
	if err != nil {
		return nil, err
	}
	nodes, ps := g.Learnables()
	if len(nodes) == 0 {
		return nil, errors.New("train: the model has nothing to train")
	}
	if _, err := G.Grad(cost, nodes...); err != nil {
		return nil, fmt.Errorf("train: gradients: %w", err)
	}
	gr.loss = layers.Read(cost)
	gr.nodes = nodes
	for _, p := range ps {
		q := *p
		q.Name = t.names[p.Value]
		gr.params = append(gr.params, &q)
	}
	gr.vm = layers.NewTapeMachine(g, G.BindDualValues(nodes...))
	return gr, nil
}

// Run trains until the configured epochs are done, early stopping fires or
// ctx is cancelled. On cancellation it writes the checkpoint (when Dir is
// set) before returning ctx's error, so Resume can continue. A NaN or
// infinite loss stops training with an error naming the step; the model's
// parameters are then those before that step. A NaN or infinite input
// stops it before the step runs, naming the step, the input (a or b) and
// the pair; a weight or BatchNorm statistic made non-finite by a step
// stops it after that step, naming both. Such a model is never saved.
func (t *Trainer) Run(ctx context.Context) error {
	// Building and running the training graph write to the model's shared
	// tensors (engine fields, BatchNorm statistics, weights): do both under
	// the model's lock, so that concurrent scoring waits instead of racing.
	var gr *graph
	if err := t.m.Network().ChangeParams(func() (err error) { gr, err = t.build(); return err }); err != nil {
		return err
	}
	defer gr.vm.Close()
	if t.opt == nil {
		t.opt = newOptimizer(t.cfg.Optimizer, gr.params)
	}
	spe := uint64(t.cfg.StepsPerEpoch)
	total := spe * uint64(t.cfg.Epochs)
	l := &loop{
		prefix: "train", m: t.m, gr: &gr.stepGraph, opt: t.opt, step: &t.st.Step,
		stepsPerEpoch: spe, epochs: t.cfg.Epochs, batch: t.cfg.BatchSize, unit: "pairs",
		dir: t.cfg.Dir, progress: t.cfg.Progress, watch: t.m.Network().Params(),
		hooks: hooks{
			feed:         gr.feed,
			learningRate: func(step uint64) float64 { return t.learningRate(step, spe, total) },
			afterStep: func(_ uint64, loss float64) {
				t.st.EpochLoss += loss
				t.st.EpochSteps++
			},
			endEpoch: func(seconds, lr float64) (string, error) {
				if err := t.endEpoch(seconds, lr); err != nil {
					return "", err
				}
				return epochLine(t.st.History[len(t.st.History)-1]), nil
			},
			stopped:     func() bool { return t.st.Stopped },
			interrupted: t.checkpoint,
		},
	}
	return l.run(ctx)
}

// finiteInputs reports the first NaN or infinite value of a step's inputs
// a and b (each (n, ...)), by input and pair, before the forward pass.
func finiteInputs(a, b *tensor.Dense) error {
	for _, in := range []struct {
		name string
		t    *tensor.Dense
	}{{"a", a}, {"b", b}} {
		if in.t == nil || in.t.Dims() == 0 {
			continue // not a batch; G.Let reports it
		}
		d, _ := in.t.Data().([]float32)
		if i := firstNonFinite(d); i >= 0 {
			per := max(len(d)/max(in.t.Shape()[0], 1), 1)
			return fmt.Errorf("input %s of pair %d holds %v (element %d); the step was not run", in.name, i/per, d[i], i%per)
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or infinite value in
// d, or -1.
func firstNonFinite(d []float32) int {
	if n, bad := nonFiniteVec(d); !bad {
		d = d[n:]
		if i := firstNonFiniteGo(d); i >= 0 {
			return n + i
		}
		return -1
	}
	return firstNonFiniteGo(d)
}

// firstNonFiniteGo is firstNonFinite without vector code.
func firstNonFiniteGo(d []float32) int {
	for i, v := range d {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

// nonFiniteParam returns "name[i] is NaN" for the first non-finite value
// among params, or "".
func nonFiniteParam(params []*layers.Param) string {
	for _, p := range params {
		d := p.Float32s()
		if i := firstNonFinite(d); i >= 0 {
			return fmt.Sprintf("%s[%d] is %v", p.Name, i, d[i])
		}
	}
	return ""
}

func (t *Trainer) learningRate(step, spe, total uint64) float64 {
	return t.cfg.Optimizer.LearningRate * t.cfg.Schedule.factor(step, spe, total) * t.st.PlateauMult
}

// endEpoch validates, logs, adjusts the plateau and early-stopping state
// and writes the checkpoints.
func (t *Trainer) endEpoch(seconds, lr float64) error {
	t.st.Epoch++
	es := EpochStats{
		Epoch: t.st.Epoch, Step: t.st.Step, Pairs: t.st.Step * uint64(t.cfg.BatchSize),
		TrainLoss: t.st.EpochLoss / float64(max(t.st.EpochSteps, 1)), LearningRate: lr, Seconds: seconds,
		ValLoss: math.NaN(), ValAccuracy: math.NaN(), ValAUC: math.NaN(), ValEER: math.NaN(),
	}
	t.st.EpochLoss, t.st.EpochSteps = 0, 0
	improved := false
	var scores, labels []float64
	if t.val != nil {
		var err error
		if scores, labels, err = validate(t.m, t.val, &es); err != nil {
			return err
		}
		metric := score(es, t.cfg.Metric)
		if !t.st.HasBest || metric > t.st.Best {
			t.st.Best, t.st.HasBest, improved = metric, true, true
			t.st.BadEpochs, t.st.StaleEpochs = 0, 0
		} else {
			t.st.BadEpochs++
			t.st.StaleEpochs++
		}
		if p := t.cfg.Plateau; p.Patience > 0 && t.st.BadEpochs >= p.Patience {
			t.st.PlateauMult = max(t.st.PlateauMult*p.Factor, p.MinFactor)
			t.st.BadEpochs = 0
		}
		if t.cfg.EarlyStopping > 0 && t.st.StaleEpochs >= t.cfg.EarlyStopping {
			t.st.Stopped = true
		}
	}
	if improved && t.cfg.Calibration != CalibrateNone {
		thr, err := calibrate(t.m, scores, labels, t.cfg.TargetFAR)
		if err != nil {
			return err
		}
		es.Threshold = thr
	}
	t.st.History = append(t.st.History, es)
	if t.cfg.Dir == "" {
		if improved {
			t.best = t.best[:0]
			for _, p := range t.m.Network().Params() {
				t.best = append(t.best, slices.Clone(p.Float32s()))
			}
			t.bestThres = t.m.Threshold()
		}
		return nil
	}
	if err := t.writeLog(); err != nil {
		return err
	}
	if err := plot(t.cfg.Dir, t.st.History, scores, labels); err != nil {
		return err
	}
	if improved || t.val == nil {
		if err := t.m.Save(filepath.Join(t.cfg.Dir, BestModel)); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return t.checkpoint()
}

// UseBest puts the parameters and threshold of the epoch with the best
// validation metric back into the model, for a run without Config.Dir
// (with a Dir, load BestModel instead). It does nothing before any epoch
// improved, or without validation.
func (t *Trainer) UseBest() error {
	if t.best == nil {
		return nil
	}
	err := t.m.Network().ChangeParams(func() error {
		for i, p := range t.m.Network().Params() {
			copy(p.Float32s(), t.best[i])
		}
		return nil
	})
	if err != nil {
		return err
	}
	return t.m.SetThreshold(t.bestThres)
}

// checkpoint writes last.safetensors: the model, the optimizer's moments
// and the training state, in one atomic file.
func (t *Trainer) checkpoint() error {
	if t.cfg.Dir == "" || t.opt == nil {
		return nil
	}
	t.st.OptSteps = t.opt.t
	return saveCheckpoint(t.m, filepath.Join(t.cfg.Dir, Checkpoint), t.opt.state(),
		map[string]any{"train.state": t.st, "train.config": t.cfg.withoutIO()})
}

// saveCheckpoint writes m with the extra tensors and the metadata values,
// as JSON, in one atomic file.
func saveCheckpoint(m *siamese.Model, path string, extra []*layers.Param, meta map[string]any) error {
	md := make(map[string]string, len(meta))
	for k, v := range meta {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("train: checkpoint %s: %w", k, err)
		}
		md[k] = string(b)
	}
	if err := m.Network().SaveWith(path, extra, md); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// withoutIO returns c without its writer, for saving.
func (c Config) withoutIO() Config {
	c.Progress = nil
	return c
}

var logHeader = []string{"epoch", "step", "pairs", "train_loss", "val_loss", "val_accuracy", "val_auc", "val_eer", "threshold", "learning_rate", "seconds"}

// writeLog rewrites log.csv from the history, atomically, so that the log
// always agrees with the checkpoint.
func (t *Trainer) writeLog() error {
	rows := make([][]string, len(t.st.History))
	for i, es := range t.st.History {
		rows[i] = []string{strconv.Itoa(es.Epoch), strconv.FormatUint(es.Step, 10), strconv.FormatUint(es.Pairs, 10),
			formatFloat(es.TrainLoss), formatFloat(es.ValLoss), formatFloat(es.ValAccuracy), formatFloat(es.ValAUC),
			formatFloat(es.ValEER), formatFloat(es.Threshold), formatFloat(es.LearningRate), formatFloat(es.Seconds)}
	}
	return writeCSV(filepath.Join(t.cfg.Dir, Log), logHeader, rows)
}

// formatFloat writes a logged value with 8 significant digits.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

// writeCSV replaces the CSV file at path atomically.
func writeCSV(path string, header []string, rows [][]string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	_ = w.WriteAll(rows) // WriteAll flushes
	if err := w.Error(); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	return writeAtomic(path, b.Bytes())
}

// writeAtomic replaces the file at path atomically: a temporary file in
// the same folder (named as removeStaleTemps expects), synced, then
// renamed over it.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// SetEpochs changes the number of epochs to train, for example to extend a
// resumed run. It fails below the epochs already done.
func (t *Trainer) SetEpochs(n int) error {
	if n < t.st.Epoch || n < 1 {
		return fmt.Errorf("train: %d epochs, %d already done", n, t.st.Epoch)
	}
	t.cfg.Epochs = n
	return nil
}

// epochJSON is EpochStats with the validation figures as pointers, since
// JSON has no NaN: a missing validation is null.
type epochJSON struct {
	Epoch                                int
	Step, Pairs                          uint64
	TrainLoss                            float64
	ValLoss, ValAccuracy, ValAUC, ValEER *float64
	LearningRate, Threshold, Seconds     float64
}

// MarshalJSON writes NaN validation figures as null.
func (e EpochStats) MarshalJSON() ([]byte, error) {
	p := nullNaN
	return json.Marshal(epochJSON{e.Epoch, e.Step, e.Pairs, e.TrainLoss, p(e.ValLoss), p(e.ValAccuracy), p(e.ValAUC), p(e.ValEER), e.LearningRate, e.Threshold, e.Seconds})
}

// UnmarshalJSON reads null validation figures as NaN.
func (e *EpochStats) UnmarshalJSON(b []byte) error {
	var j epochJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v := nanNull
	*e = EpochStats{Epoch: j.Epoch, Step: j.Step, Pairs: j.Pairs, TrainLoss: j.TrainLoss, ValLoss: v(j.ValLoss), ValAccuracy: v(j.ValAccuracy),
		ValAUC: v(j.ValAUC), ValEER: v(j.ValEER), LearningRate: j.LearningRate, Threshold: j.Threshold, Seconds: j.Seconds}
	return nil
}

// nullNaN and nanNull carry a figure through JSON, which has no NaN: a
// NaN (a missing validation) is written as null and read back as NaN.
func nullNaN(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func nanNull(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
