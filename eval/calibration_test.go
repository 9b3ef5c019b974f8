package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/numeric"
)

func TestECEByHand(t *testing.T) {
	// Bin 0: score 0.05, none same: gap 0.05. Bin 1: 0.15, same: 0.85.
	// Bin 9: two at 0.95, one same: 0.45 each. (0.05+0.85+0.9)/4.
	scores := []float64{0.05, 0.15, 0.95, 0.95}
	labels := []float64{0, 1, 1, 0}
	e, err := ECE(scores, labels, 10)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(e-0.45) > 1e-12 {
		t.Errorf("ECE %v, want 0.45", e)
	}
	bins, _ := Reliability(scores, labels, 10)
	if b := bins[9]; b.Count != 2 || b.Frequency != 0.5 || math.Abs(b.Confidence-0.95) > 1e-12 {
		t.Errorf("last bin %+v, want 2 pairs at 0.95, half same", b)
	}
	if b := bins[4]; b.Count != 0 || !math.IsNaN(b.Confidence) {
		t.Errorf("empty bin %+v, want count 0 and NaN", b)
	}
	// A score of exactly 1 belongs to the last bin.
	if bins, _ := Reliability([]float64{1}, []float64{1}, 10); bins[9].Count != 1 {
		t.Errorf("score 1 not in the last bin: %+v", bins)
	}
}

// synthetic returns n logits and labels drawn so that sigmoid(a*z+b) is
// the true probability of "same".
func synthetic(n int, a, b float64, seed uint64) (logits, labels []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for range n {
		z := 3 * rng.NormFloat64()
		y := 0.0
		if rng.Float64() < numeric.Sigmoid(a*z+b) {
			y = 1
		}
		logits, labels = append(logits, z), append(labels, y)
	}
	return logits, labels
}

func TestECEMeasuresMiscalibration(t *testing.T) {
	logits, labels := synthetic(20000, 1, 0, 1)
	calibrated := make([]float64, len(logits))
	overconfident := make([]float64, len(logits))
	for i, z := range logits {
		calibrated[i] = numeric.Sigmoid(z)
		overconfident[i] = numeric.Sigmoid(4 * z)
	}
	good, err := ECE(calibrated, labels, 10)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := ECE(overconfident, labels, 10)
	if good > 0.02 || bad < 0.1 {
		t.Errorf("ECE %.4f for calibrated scores (want <= 0.02), %.4f for overconfident ones (want >= 0.1)", good, bad)
	}
}

func TestPlattRecoversScaling(t *testing.T) {
	logits, labels := synthetic(20000, 0.5, -1, 2)
	a, b, err := Platt(logits, labels)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a-0.5) > 0.05 || math.Abs(b+1) > 0.1 {
		t.Errorf("Platt gave a %.4f, b %.4f; want about 0.5 and -1", a, b)
	}
	scaled := make([]float64, len(logits))
	scores := make([]float64, len(logits))
	for i, z := range logits {
		scaled[i] = 5 * z
		scores[i] = numeric.Sigmoid(a*z + b)
	}
	a5, b5, _ := Platt(scaled, labels)
	if math.Abs(a5*5-a) > 1e-4 || math.Abs(b5-b) > 1e-4 {
		t.Errorf("logits times 5: a %.6f b %.6f, want %.6f and %.6f", a5, b5, a/5, b)
	}
	if e, _ := ECE(scores, labels, 10); e > 0.02 {
		t.Errorf("ECE after Platt scaling %.4f, want <= 0.02", e)
	}
	// Separable data: a stays finite and positive.
	a, _, err = Platt([]float64{-2, -1, 1, 2}, []float64{0, 0, 1, 1})
	if err != nil || !(a > 0) || math.IsInf(a, 0) {
		t.Errorf("separable data: a %v, err %v", a, err)
	}
}

func TestCalibrationErrors(t *testing.T) {
	for name, err := range map[string]error{
		"score above 1":  func() error { _, err := ECE([]float64{1.5}, []float64{1}, 10); return err }(),
		"no bins":        func() error { _, err := Reliability([]float64{0.5}, []float64{1}, 0); return err }(),
		"NaN score":      func() error { _, err := ECE([]float64{math.NaN()}, []float64{1}, 10); return err }(),
		"one class":      func() error { _, _, err := Platt([]float64{1, 2}, []float64{1, 1}); return err }(),
		"infinite logit": func() error { _, _, err := Platt([]float64{math.Inf(1), 2}, []float64{1, 0}); return err }(),
		"empty diagrams": PlotReliability(filepath.Join(t.TempDir(), "r.png"), nil),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := Platt([]float64{1, 2}, []float64{1, 1}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: %v, want ErrOneClass", err)
	}
}

func TestPlotReliability(t *testing.T) {
	logits, labels := synthetic(2000, 1, 0, 3)
	before, after := make([]float64, len(logits)), make([]float64, len(logits))
	for i, z := range logits {
		before[i], after[i] = numeric.Sigmoid(4*z), numeric.Sigmoid(z)
	}
	b1, _ := Reliability(before, labels, 10)
	b2, _ := Reliability(after, labels, 10)
	path := filepath.Join(t.TempDir(), "reliability.png")
	if err := PlotReliability(path, map[string][]Bin{"before": b1, "after": b2}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, 300, 300)
}
