package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// patterns is a small labelled image set made on the spot: each class is
// a stripe pattern of its own orientation and frequency, each instance
// adds its own phase and noise.
type patterns struct {
	images  []image.Image
	pixels  [][]float32 // preprocessed, CHW
	classes []int
	shape   []int // C, S, S
	seed    uint64
	nanAt   int64 // step whose batch holds a NaN; -1 for none
	onBatch func(step uint64)
}

func newPatterns(t testing.TB, classes, perClass int, seed uint64) *patterns {
	t.Helper()
	cfg := preprocess.Config{Size: 32}
	p := &patterns{shape: []int{3, 32, 32}, seed: seed, nanAt: -1}
	rng := rand.New(rand.NewPCG(seed, 1))
	for c := range classes {
		angle := float64(c) * math.Pi / float64(classes)
		freq := 0.3 + 0.25*float64(c%3)
		for range perClass {
			phase := rng.Float64() * 2 * math.Pi
			img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
			for y := range 32 {
				for x := range 32 {
					v := math.Sin(freq*(float64(x)*math.Cos(angle)+float64(y)*math.Sin(angle)) + phase)
					g := uint8(math.Max(0, math.Min(255, 128+100*v+20*rng.NormFloat64())))
					img.SetNRGBA(x, y, color.NRGBA{g, g, uint8(40 * c), 255})
				}
			}
			px, err := preprocess.Pixels(img, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p.pixels = append(p.pixels, px)
			p.images = append(p.images, img)
			p.classes = append(p.classes, c)
		}
	}
	return p
}

// pairs draws n balanced pairs deterministically from rng.
func (p *patterns) pairs(rng *rand.Rand, n int) (as, bs []int, labels []float32) {
	for k := range n {
		i := rng.IntN(len(p.pixels))
		for {
			j := rng.IntN(len(p.pixels))
			same := p.classes[i] == p.classes[j]
			if i != j && same == (k%2 == 0) {
				as, bs = append(as, i), append(bs, j)
				labels = append(labels, map[bool]float32{true: 1, false: 0}[same])
				break
			}
		}
	}
	return as, bs, labels
}

func (p *patterns) stack(idx []int) *tensor.Dense {
	per := len(p.pixels[0])
	v := make([]float32, 0, len(idx)*per)
	for _, i := range idx {
		v = append(v, p.pixels[i]...)
	}
	return tensor.New(tensor.WithShape(append([]int{len(idx)}, p.shape...)...), tensor.WithBacking(v))
}

func (p *patterns) Batch(step uint64, n int) (a, b *tensor.Dense, labels []float32, err error) {
	if p.onBatch != nil {
		p.onBatch(step)
	}
	as, bs, labels := p.pairs(rand.New(rand.NewPCG(p.seed, step+100)), n)
	a, b = p.stack(as), p.stack(bs)
	if int64(step) == p.nanAt {
		a.Data().([]float32)[0] = float32(math.NaN())
	}
	return a, b, labels, nil
}

// valPairs scores fixed pairs of another instance set.
type valPairs struct {
	p       *patterns
	as, bs  []int
	labelsF []float32
}

func newValPairs(p *patterns, n int) *valPairs {
	as, bs, l := p.pairs(rand.New(rand.NewPCG(p.seed, 7)), n)
	return &valPairs{p: p, as: as, bs: bs, labelsF: l}
}

func (v *valPairs) Logits(m *siamese.Model) ([]float64, []float64, error) {
	emb := func(i int) (siamese.Embedding, error) {
		x := tensor.New(tensor.WithShape(append([]int{1}, v.p.shape...)...), tensor.WithBacking(v.p.pixels[i]))
		es, err := m.Network().EmbedPreprocessed(x)
		if err != nil {
			return nil, err
		}
		return es[0], nil
	}
	var logits, labels []float64
	for k := range v.as {
		a, err := emb(v.as[k])
		if err != nil {
			return nil, nil, err
		}
		b, err := emb(v.bs[k])
		if err != nil {
			return nil, nil, err
		}
		z, err := m.Network().Logit(a, b)
		if err != nil {
			return nil, nil, err
		}
		logits = append(logits, z)
		labels = append(labels, float64(v.labelsF[k]))
	}
	return logits, labels, nil
}

func smallModel(t testing.TB) *siamese.Model {
	t.Helper()
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{32, 16},
		Input:   preprocess.Config{Size: 32},
		Seed:    5,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTrainingLearns trains on generated patterns; validation AUC on held-
// out instances must rise well above chance. A broken gradient keeps it
// near 0.5.
func TestTrainingLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("training skipped in -short mode")
	}
	m := smallModel(t)
	data := newPatterns(t, 4, 12, 1)
	val := newValPairs(newPatterns(t, 4, 6, 2), 60)
	dir := t.TempDir()
	tr, err := New(m, data, val, Config{Epochs: 6, StepsPerEpoch: 12, BatchSize: 16, Optimizer: Optimizer{LearningRate: 2e-3}, Seed: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := tr.History()
	if len(h) != 6 {
		t.Fatalf("%d epochs logged, want 6", len(h))
	}
	best := 0.0
	for _, e := range h {
		t.Logf("epoch %d: train loss %.4f, val loss %.4f, AUC %.3f, EER %.3f", e.Epoch, e.TrainLoss, e.ValLoss, e.ValAUC, e.ValEER)
		best = max(best, e.ValAUC)
	}
	if best < 0.8 {
		t.Errorf("best validation AUC %.3f, want >= 0.8", best)
	}
	if h[len(h)-1].TrainLoss >= h[0].TrainLoss {
		t.Errorf("training loss did not fall: %.4f -> %.4f", h[0].TrainLoss, h[len(h)-1].TrainLoss)
	}
	for _, f := range []string{"best.safetensors", "last.safetensors", "log.csv", "curves.png", "roc.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log.csv"))
	if n := strings.Count(string(log), "\n"); n != 7 {
		t.Errorf("log.csv has %d lines, want a header and 6 rows", n)
	}
	bestModel, err := siamese.Load(filepath.Join(dir, "best.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// The best epoch's calibrated threshold is stored in the best model.
	bestEpoch := h[0]
	for _, e := range h {
		if e.ValAUC > bestEpoch.ValAUC {
			bestEpoch = e
		}
	}
	if bestEpoch.Threshold == 0 || bestModel.Threshold() != bestEpoch.Threshold {
		t.Errorf("best model threshold %v, calibrated %v", bestModel.Threshold(), bestEpoch.Threshold)
	}
	if _, err := siamese.Load(filepath.Join(dir, "last.safetensors")); err != nil {
		t.Errorf("a checkpoint does not load as a model: %v", err)
	}
}

// TestResumeMatchesUninterrupted cancels a run at several steps (inside
// an epoch, at its first step, at the last step), resumes it from its
// checkpoint and compares the final weights with an uninterrupted run's.
func TestResumeMatchesUninterrupted(t *testing.T) {
	for _, stopAt := range []uint64{1, 4, 6} {
		t.Run(fmt.Sprint(stopAt), func(t *testing.T) { resumeAt(t, stopAt) })
	}
}

func resumeAt(t *testing.T, stopAt uint64) {
	cfg := Config{Epochs: 2, StepsPerEpoch: 4, BatchSize: 4, Seed: 3, Optimizer: Optimizer{LearningRate: 1e-3}}
	data := newPatterns(t, 3, 4, 9)
	val := newValPairs(data, 12)

	full := smallModel(t)
	cfg.Dir = t.TempDir()
	tr, err := New(full, data, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	part := smallModel(t)
	cfg.Dir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cdata := *data
	cdata.onBatch = func(step uint64) {
		if step == stopAt {
			cancel()
		}
	}
	tr2, err := New(part, &cdata, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run returned %v", err)
	}
	resumed, tr3, err := Resume(filepath.Join(cfg.Dir, "last.safetensors"), data, val, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr3.Step() != stopAt+1 {
		t.Errorf("resumed at step %d, want %d", tr3.Step(), stopAt+1)
	}
	if err := tr3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := full.Network().Params()
	for i, p := range resumed.Network().Params() {
		a, b := p.Float32s(), want[i].Float32s()
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("stopped at step %d: %s[%d] = %g after resuming, %g uninterrupted", stopAt, p.Name, j, a[j], b[j])
			}
		}
	}
	h1, h3 := tr.History(), tr3.History()
	if len(h1) != len(h3) || h1[1].ValAUC != h3[1].ValAUC || h1[1].TrainLoss != h3[1].TrainLoss {
		t.Errorf("histories differ: %+v vs %+v", h1, h3)
	}
}

func TestNaNLossStops(t *testing.T) {
	data := newPatterns(t, 2, 3, 4)
	data.nanAt = 2
	m := smallModel(t)
	tr, err := New(m, data, nil, Config{Epochs: 1, StepsPerEpoch: 5, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("got %v, want an error naming step 2", err)
	}
	for _, p := range m.Network().Params() {
		for _, v := range p.Float32s() {
			if math.IsNaN(float64(v)) {
				t.Fatalf("%s holds NaN after the failed step", p.Name)
			}
		}
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		s    Schedule
		step uint64
		want float64
	}{
		{Schedule{}, 50, 1},
		{Schedule{Kind: StepSchedule, StepEpochs: 2, Gamma: 0.5}, 19, 1},      // epoch 1 (0-based, 10 steps each)
		{Schedule{Kind: StepSchedule, StepEpochs: 2, Gamma: 0.5}, 20, 0.5},    // epoch 2
		{Schedule{Kind: StepSchedule, StepEpochs: 2, Gamma: 0.5}, 85, 0.0625}, // epoch 8
		{Schedule{Kind: CosineSchedule}, 0, 1},
		{Schedule{Kind: CosineSchedule}, 50, 0.5},
		{Schedule{Kind: CosineSchedule, MinFactor: 0.1}, 100, 0.1},
		{Schedule{WarmupSteps: 10}, 4, 0.5},
		{Schedule{WarmupSteps: 10}, 10, 1},
	}
	for _, c := range cases {
		if got := c.s.factor(c.step, 10, 100); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v at step %d: %g, want %g", c.s, c.step, got, c.want)
		}
	}
	if (Schedule{Kind: "linear"}).Validate() == nil {
		t.Error("unknown schedule accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{},
		{StepsPerEpoch: 1, Metric: "f1"},
		{StepsPerEpoch: 1, Optimizer: Optimizer{Kind: "rmsprop"}},
		{StepsPerEpoch: 1, Optimizer: Optimizer{Beta1: 1}},
		{StepsPerEpoch: 1, Plateau: Plateau{Patience: 1, Factor: 2}},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{StepsPerEpoch: 1}).Validate(); err != nil {
		t.Error(err)
	}
}

// flatValidation never improves: the same logits every epoch.
type flatValidation struct{}

func (flatValidation) Logits(*siamese.Model) ([]float64, []float64, error) {
	return []float64{0.5, -0.5, 0.2, 0.1}, []float64{1, 0, 0, 1}, nil
}

func TestPlateauAndEarlyStopping(t *testing.T) {
	data := newPatterns(t, 2, 3, 4)
	m := smallModel(t)
	tr, err := New(m, data, flatValidation{}, Config{
		Epochs: 10, StepsPerEpoch: 1, BatchSize: 2, Optimizer: Optimizer{LearningRate: 1e-3},
		Plateau: Plateau{Patience: 2, Factor: 0.5}, EarlyStopping: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := tr.History()
	// Epoch 1 sets the best; epochs 2..5 do not improve: stop after 5.
	if len(h) != 5 {
		t.Fatalf("ran %d epochs, want 5 (early stopping after 4 without improvement)", len(h))
	}
	// The rate halves after every 2 epochs without improvement: epochs 1-3
	// at 1e-3, 4-5 at 5e-4 (the cut after epoch 3 applies from epoch 4).
	want := []float64{1e-3, 1e-3, 1e-3, 5e-4, 5e-4}
	for i, e := range h {
		if math.Abs(e.LearningRate-want[i]) > 1e-15 {
			t.Errorf("epoch %d: learning rate %g, want %g", e.Epoch, e.LearningRate, want[i])
		}
	}
}

// TestNoValidationCheckpoint: a run without validation writes and resumes
// its checkpoint (NaN validation figures survive JSON), and can be
// extended.
func TestNoValidationCheckpoint(t *testing.T) {
	data := newPatterns(t, 2, 3, 4)
	dir := t.TempDir()
	tr, err := New(smallModel(t), data, nil, Config{Epochs: 1, StepsPerEpoch: 2, BatchSize: 2, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, tr2, err := Resume(filepath.Join(dir, "last.safetensors"), data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := tr2.History(); len(h) != 1 || !math.IsNaN(h[0].ValAUC) || h[0].TrainLoss != tr.History()[0].TrainLoss {
		t.Fatalf("history after resume: %+v", h)
	}
	if err := tr2.SetEpochs(2); err != nil {
		t.Fatal(err)
	}
	if err := tr2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tr2.Step() != 4 || tr2.SetEpochs(1) == nil {
		t.Errorf("extended run ended at step %d", tr2.Step())
	}
}
