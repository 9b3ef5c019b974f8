package eval

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkPNG decodes the file at path and checks its size, that nothing
// else (no temporary file) is left in its folder, and that it is not one
// colour.
func checkPNG(t *testing.T, path string, minW, minH int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := img.Bounds()
	if r.Dx() < minW || r.Dy() < minH || r.Dx() > 4000 || r.Dy() > 4000 {
		t.Errorf("%s: size %v", path, r.Size())
	}
	colours := map[[4]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			colours[[4]uint32{c0, c1, c2, c3}] = true
		}
	}
	if len(colours) < 3 {
		t.Errorf("%s: only %d colours", path, len(colours))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestPlotROC(t *testing.T) {
	a, err := ROC(scoresA, labelsA)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ROC(scoresB, labelsB)
	path := filepath.Join(t.TempDir(), "roc.png")
	// Overwrites an existing file.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PlotROC(path, map[string]Curve{"model A": a, "model B": b}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, 300, 300)
}

func TestPlotCurves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	err := PlotCurves(path, "loss", map[string][]float64{
		"train":      {0.69, 0.5, 0.41, 0.35, 0.3},
		"validation": {0.7, 0.55, 0.5, 0.49, 0.5},
		"one epoch":  {0.6},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, 400, 200)
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.png")
	c, _ := ROC(scoresA, labelsA)
	for name, err := range map[string]error{
		"ROC none":        PlotROC(p, nil),
		"ROC empty curve": PlotROC(p, map[string]Curve{"a": {}}),
		"ROC mismatch":    PlotROC(p, map[string]Curve{"a": {FPR: []float64{0, 1}, TPR: []float64{0}}}),
		"ROC NaN":         PlotROC(p, map[string]Curve{"a": {FPR: []float64{0, math.NaN()}, TPR: []float64{0, 1}}}),
		"ROC no path":     PlotROC("", map[string]Curve{"a": c}),
		"ROC no folder":   PlotROC(filepath.Join(dir, "missing", "x.png"), map[string]Curve{"a": c}),
		"curves none":     PlotCurves(p, "t", nil),
		"curves empty":    PlotCurves(p, "t", map[string][]float64{"a": {1}, "b": nil}),
		"curves NaN":      PlotCurves(p, "t", map[string][]float64{"a": {1, math.NaN()}}),
		"curves Inf":      PlotCurves(p, "t", map[string][]float64{"a": {math.Inf(1)}}),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed plots left %d files", len(entries))
	}
}
