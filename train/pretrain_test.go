package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	G "gorgonia.org/gorgonia"
)

// tinyCosine is a small model shaped like the oneshot recipe's: no hidden
// layers, cosine distance.
func tinyCosine(t testing.TB) *siamese.Model {
	t.Helper()
	m, err := siamese.New(siamese.Config{
		Encoder:  resnet.Config{Depth: 18, Width: 8},
		Hidden:   []int{},
		Dropout:  -1,
		Distance: siamese.Cosine,
		Input:    preprocess.Config{Size: 32},
		Seed:     5,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newTinyPretrainer returns a pretrainer of a tiny model on ds, with
// distortions, quarter turns and 3-way validation, calling onBatch (when
// not nil) before each batch.
func newTinyPretrainer(t *testing.T, ds data.Dataset, trainIdx, valIdx []int, cfg PretrainConfig, onBatch func(uint64)) (*siamese.Model, *Pretrainer) {
	t.Helper()
	m := tinyCosine(t)
	imgs, err := NewSampledImages(ds, trainIdx, m.Config().Input, data.KochAugment(), true, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	val, err := NewOneShotValidation(ds, valIdx, 3, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	var batches ClassBatches = imgs
	if onBatch != nil {
		batches = hookedBatches{imgs, onBatch}
	}
	p, err := NewPretrainer(m, batches, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

func pretrainRun(t *testing.T, ds data.Dataset, trainIdx, valIdx []int, cfg PretrainConfig) (*siamese.Model, *Pretrainer) {
	t.Helper()
	m, p := newTinyPretrainer(t, ds, trainIdx, valIdx, cfg, nil)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, p
}

// TestPretrainLearns: classifying generated patterns, the loss falls and
// the training accuracy rises well above chance; the run is bit-identical
// when repeated; the model left behind is the best validation epoch's, as
// is pretrain.safetensors.
func TestPretrainLearns(t *testing.T) {
	ds := memoryPatterns(t, 8, 6, 3)
	trainIdx, valIdx := data.SplitClasses(ds, 0.4, 1)
	dir := t.TempDir()
	cfg := PretrainConfig{Epochs: 4, StepsPerEpoch: 6, BatchSize: 16, Seed: 2, Dir: dir,
		Optimizer: Optimizer{LearningRate: 3e-3}, Schedule: Schedule{Kind: CosineSchedule, WarmupSteps: 3}, LabelSmoothing: 0.1}
	m, p := pretrainRun(t, ds, trainIdx, valIdx, cfg)
	h := p.History()
	if len(h) != 4 {
		t.Fatalf("%d epochs logged, want 4", len(h))
	}
	classes := 4 * data.CountClasses(ds, trainIdx)
	if first, last := h[0], h[3]; !(last.TrainLoss < first.TrainLoss-0.3) || !(last.TrainAcc > 3.0/float64(classes)) {
		t.Errorf("loss %.3f -> %.3f, accuracy %.3f -> %.3f (chance %.3f): not learning", first.TrainLoss, last.TrainLoss, first.TrainAcc, last.TrainAcc, 1/float64(classes))
	}
	best := math.Inf(-1)
	for _, e := range h {
		if !(e.ValOneShot >= 0 && e.ValOneShot <= 1) {
			t.Fatalf("epoch %d: validation accuracy %v", e.Epoch, e.ValOneShot)
		}
		best = max(best, e.ValOneShot)
	}
	if got, err := p.val.Accuracy(m); err != nil || got != best {
		t.Errorf("model left with validation accuracy %v (%v), want the best epoch's %v", got, err, best)
	}
	saved, err := siamese.Load(filepath.Join(dir, "pretrain.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, saved, m)
	if _, err := os.Stat(filepath.Join(dir, "pretrain.png")); err != nil {
		t.Error(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pretrain-log.csv")); err != nil || strings.Count(string(b), "\n") != 5 {
		t.Errorf("pretrain-log.csv: %v\n%s", err, b)
	}

	m2, p2 := pretrainRun(t, ds, trainIdx, valIdx, PretrainConfig{Epochs: 4, StepsPerEpoch: 6, BatchSize: 16, Seed: 2,
		Optimizer: Optimizer{LearningRate: 3e-3}, Schedule: Schedule{Kind: CosineSchedule, WarmupSteps: 3}, LabelSmoothing: 0.1})
	sameParams(t, m2, m)
	for i, e := range p2.History() {
		if e.TrainLoss != h[i].TrainLoss || e.ValOneShot != h[i].ValOneShot {
			t.Errorf("epoch %d differs on a second run: %+v vs %+v", i+1, e, h[i])
		}
	}
}

func TestSampledImagesLabels(t *testing.T) {
	ds := memoryPatterns(t, 5, 3, 3)
	idx := []int{3, 4, 5, 12, 13, 14} // classes 1 and 4
	in := preprocess.Config{Size: 32}
	for _, rot := range []bool{false, true} {
		s, err := NewSampledImages(ds, idx, in, data.Augment{}, rot, 1, 4)
		if err != nil {
			t.Fatal(err)
		}
		turns := 1
		if rot {
			turns = 4
		}
		if s.NumClasses() != 2*turns {
			t.Fatalf("rotations %v: %d classes, want %d", rot, s.NumClasses(), 2*turns)
		}
		x, classes, err := s.Batch(7, 40)
		if err != nil {
			t.Fatal(err)
		}
		x2, classes2, _ := s.Batch(7, 40)
		if !slices.Equal(classes, classes2) || !slices.Equal(x.Data().([]float32), x2.Data().([]float32)) {
			t.Error("the same step gave another batch")
		}
		seen := map[int]bool{}
		for _, c := range classes {
			if c < 0 || c >= s.NumClasses() {
				t.Fatalf("class %d outside [0, %d)", c, s.NumClasses())
			}
			seen[c] = true
		}
		if len(seen) != s.NumClasses() {
			t.Errorf("rotations %v: 40 draws cover classes %v of %d", rot, seen, s.NumClasses())
		}
	}
	if _, err := NewSampledImages(ds, []int{99}, in, data.Augment{}, false, 1, 1); err == nil {
		t.Error("index 99 of 15 accepted")
	}
}

func TestOneShotValidationErrors(t *testing.T) {
	ds := memoryPatterns(t, 3, 2, 3)
	if _, err := NewOneShotValidation(ds, []int{0, 1, 2, 3, 4, 5}, 4, 1, 1); err == nil || !strings.Contains(err.Error(), "3 classes") {
		t.Errorf("4-way tasks from 3 classes: %v", err)
	}
	v, err := NewOneShotValidation(ds, []int{0, 1, 2, 3, 4, 5}, 3, 2, 1)
	if err != nil || v.Tasks() != 6 {
		t.Errorf("2 episodes of 3 ways: %d tasks, %v", v.Tasks(), err)
	}
}

func TestPretrainRefusesSeparateTowers(t *testing.T) {
	ds := memoryPatterns(t, 3, 2, 3)
	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Input: preprocess.Config{Size: 32}, SeparateTowers: true})
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := NewSampledImages(ds, nil, m.Config().Input, data.Augment{}, false, 1, 1)
	if _, err := NewPretrainer(m, imgs, nil, PretrainConfig{StepsPerEpoch: 1}); err == nil || !strings.Contains(err.Error(), "separate towers") {
		t.Errorf("separate towers: %v", err)
	}
}

// TestPretrainCosineLearns: with a cosine classifier the run learns too,
// the classifier's bias (which it has no use for) stays as initialised,
// the logits are scaled cosines, within ±CosineScale, and a second run
// with the same seed is bit-identical.
func TestPretrainCosineLearns(t *testing.T) {
	ds := memoryPatterns(t, 8, 6, 3)
	trainIdx, valIdx := data.SplitClasses(ds, 0.4, 1)
	cfg := PretrainConfig{Epochs: 4, StepsPerEpoch: 6, BatchSize: 16, Seed: 2, CosineScale: 8,
		Optimizer: Optimizer{LearningRate: 3e-3}, Schedule: Schedule{Kind: CosineSchedule, WarmupSteps: 3}, LabelSmoothing: 0.1}
	_, fresh := newTinyPretrainer(t, ds, trainIdx, valIdx, cfg, nil)
	bias := slices.Clone(fresh.fc.Bias.Float32s())
	m, p := pretrainRun(t, ds, trainIdx, valIdx, cfg)
	h := p.History()
	classes := 4 * data.CountClasses(ds, trainIdx)
	if first, last := h[0], h[3]; !(last.TrainLoss < first.TrainLoss-0.3) || !(last.TrainAcc > 3.0/float64(classes)) {
		t.Errorf("loss %.3f -> %.3f, accuracy %.3f -> %.3f (chance %.3f): not learning", first.TrainLoss, last.TrainLoss, first.TrainAcc, last.TrainAcc, 1/float64(classes))
	}
	if !slices.Equal(p.fc.Bias.Float32s(), bias) {
		t.Error("the cosine classifier trained the bias")
	}
	m2, p2 := pretrainRun(t, ds, trainIdx, valIdx, cfg)
	sameParams(t, m2, m)
	samePretrainHistory(t, p2.History(), h)
	// The logits of a few images, through the same classifier.
	x, _, err := p.data.Batch(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	g := layers.NewGraph(layers.Inference, 1)
	e, err := m.Network().Embeddings(g, 0, G.NodeFromAny(g.G, x, G.WithName("x")))
	if err != nil {
		t.Fatal(err)
	}
	logits, err := p.classify(g, e)
	if err != nil {
		t.Fatal(err)
	}
	var v G.Value
	G.Read(logits, &v)
	vm := layers.NewTapeMachine(g)
	defer vm.Close()
	if err := layers.Run(vm); err != nil {
		t.Fatal(err)
	}
	spread := 0.0
	for _, l := range v.Data().([]float32) {
		if math.Abs(float64(l)) > 8+1e-4 {
			t.Fatalf("logit %v outside ±8", l)
		}
		spread = max(spread, math.Abs(float64(l)))
	}
	if spread < 1 {
		t.Errorf("largest logit %v: the scale is not applied", spread)
	}
}

func TestPretrainConfigValidate(t *testing.T) {
	for _, c := range []PretrainConfig{{}, {StepsPerEpoch: 1, LabelSmoothing: 1}, {StepsPerEpoch: 1, Epochs: -1}, {StepsPerEpoch: 1, Optimizer: Optimizer{Kind: "rmsprop"}},
		{StepsPerEpoch: 1, CosineScale: -1}, {StepsPerEpoch: 1, CosineScale: math.NaN()}, {StepsPerEpoch: 1, CosineScale: math.Inf(1)}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (PretrainConfig{StepsPerEpoch: 1}).Validate(); err != nil {
		t.Error(err)
	}
}
