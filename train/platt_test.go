package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/siamese"
)

// TestFitHoldImagesOutliersPlatt runs a recipe that holds out images of
// every class, pretrains with synthetic outliers and calibrates by Platt
// scaling: validation covers the training classes, the saved model is the
// calibrated one, and its logits are the uncalibrated model's mapped by
// A*z + B.
func TestFitHoldImagesOutliersPlatt(t *testing.T) {
	ds := memoryPatterns(t, 5, 8, 3)
	r := tinyRecipe()
	r.Holdout, r.Outliers, r.Platt, r.ValFraction = HoldImages, 0.25, true, 0.25
	dir := t.TempDir()
	m, rep, err := Fit(context.Background(), r, Data{Images: ds}, FitOptions{Dir: dir, Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TrainClasses != 5 || rep.ValClasses != 5 || rep.TrainImages != 30 || rep.ValImages != 10 {
		t.Errorf("split: %d/%d classes, %d/%d images; want 5/5 classes, 30/10 images", rep.TrainClasses, rep.ValClasses, rep.TrainImages, rep.ValImages)
	}
	c := rep.Calibration
	if c == nil || !(c.A > 0) || len(c.Before) != CalibrationBins || len(c.After) != CalibrationBins {
		t.Fatalf("calibration %+v", c)
	}
	if m.Threshold() != c.Threshold {
		t.Errorf("model threshold %v, calibration's %v", m.Threshold(), c.Threshold)
	}
	for _, f := range []string{ReliabilityPlot, BestModel} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	saved, err := siamese.Load(filepath.Join(dir, BestModel))
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := rep.Validation.Logits(saved)
	if err != nil {
		t.Fatal(err)
	}
	// The same run without Platt scaling (deterministic for a seed) gives
	// the uncalibrated model.
	r.Platt = false
	raw, _, err := Fit(context.Background(), r, Data{Images: ds}, FitOptions{Dir: t.TempDir(), Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := rep.Validation.Logits(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range after {
		if want := c.A*before[i] + c.B; math.Abs(after[i]-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("pair %d: calibrated logit %v, want %v*%v + %v = %v", i, after[i], c.A, before[i], c.B, want)
		}
	}
	// The run record keeps the new fields, and a resumed check sees them.
	b, err := os.ReadFile(filepath.Join(dir, RunRecord))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Holdout": "images"`, `"Outliers": 0.25`, `"Platt": true`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s:\n%s", RunRecord, want, b)
		}
	}
}

func TestPlattScaleKeepsTheHeadsForm(t *testing.T) {
	ds := memoryPatterns(t, 4, 6, 2)
	pairs, err := data.FixedPairs(ds, nil, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	val, err := NewPairValidation(ds, pairs)
	if err != nil {
		t.Fatal(err)
	}
	m := smallModel(t)
	img := mustImage(t, ds, 0)
	before, _, err := val.Logits(m)
	if err != nil {
		t.Fatal(err)
	}
	r, err := PlattScale(m, val, 0)
	if err != nil {
		t.Fatal(err)
	}
	after, _, _ := val.Logits(m)
	for i := range after {
		if want := r.A*before[i] + r.B; math.Abs(after[i]-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("pair %d: logit %v after, want %v", i, after[i], want)
		}
	}
	// The ranking is unchanged (A > 0), and an image with itself still
	// scores at least as high as with any other.
	for i := range before {
		for j := range before {
			if (before[i] < before[j]) != (after[i] < after[j]) && math.Abs(before[i]-before[j]) > 1e-5 {
				t.Fatalf("pairs %d and %d changed order", i, j)
			}
		}
	}
	self, err := m.Compare(img, img)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < 6; k++ {
		if s, _ := m.Compare(img, mustImage(t, ds, k)); s > self {
			t.Errorf("image 0 scores %v with image %d, above its %v with itself", s, k, self)
		}
	}
}

// TestPlattMisranked: a model that ranks the validation pairs the wrong
// way round is left as it was, with ErrMisranked.
func TestPlattMisranked(t *testing.T) {
	ds := memoryPatterns(t, 4, 6, 2)
	pairs, err := data.FixedPairs(ds, nil, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pairs {
		pairs[i].Label = 1 - pairs[i].Label
	}
	m := smallModel(t)
	good, err := NewPairValidation(ds, pairs)
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := good.Logits(m)
	// With labels flipped, whichever way the model ranks one list, it
	// ranks the other the wrong way round.
	flipped := make([]data.Pair, len(pairs))
	for i, p := range pairs {
		flipped[i] = data.Pair{A: p.A, B: p.B, Label: 1 - p.Label}
	}
	bad, _ := NewPairValidation(ds, flipped)
	_, err1 := PlattScale(m, good, 0)
	after1, _, _ := good.Logits(m)
	_, err2 := PlattScale(m, bad, 0)
	after2, _, _ := good.Logits(m)
	if (err1 == nil) == (err2 == nil) || !(errors.Is(err1, ErrMisranked) || errors.Is(err2, ErrMisranked)) {
		t.Fatalf("errors %v and %v; want ErrMisranked from one of the two", err1, err2)
	}
	// The failed call changed nothing.
	from, to := before, after1
	if errors.Is(err2, ErrMisranked) {
		from, to = after1, after2
	}
	for i := range from {
		if to[i] != from[i] {
			t.Fatalf("pair %d: logit %v changed to %v by a failed scaling", i, from[i], to[i])
		}
	}
}

// TestFitWithoutDirKeepsBest: without a folder, Fit returns the pair
// stage's best epoch, as the folder's best.safetensors holds, not its
// last.
func TestFitWithoutDirKeepsBest(t *testing.T) {
	ds := memoryPatterns(t, 5, 8, 3)
	r := tinyRecipe()
	r.Holdout, r.Outliers, r.Platt, r.ValFraction = HoldImages, 0.25, true, 0.25
	saved, rep, err := Fit(context.Background(), r, Data{Images: ds}, FitOptions{Dir: t.TempDir(), Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if best, _ := BestEpoch(rep.Pairs, MetricAUC); best.Epoch == len(rep.Pairs) {
		t.Fatalf("best epoch %d is the last: this run cannot tell the best from the last", best.Epoch)
	}
	inMemory, _, err := Fit(context.Background(), r, Data{Images: ds}, FitOptions{Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, inMemory, saved)
	if inMemory.Threshold() != saved.Threshold() {
		t.Errorf("threshold %v without a folder, %v with one", inMemory.Threshold(), saved.Threshold())
	}
}
