package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

// realRuns is the official all_runs.zip, read when present (see
// ../../../shared/omniglot/README.md); it is not part of the repository.
const realRuns = "../../../shared/omniglot/all_runs.zip"

// tinyModel saves a small untrained model. Without hidden layers its
// embedding is the encoder's pooled output, so different images get
// different embeddings and an image scores highest against itself.
func tinyModel(t *testing.T) string {
	t.Helper()
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{},
		Input:   preprocess.Config{Size: 32},
		Seed:    3,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// noise is a random grey image, different for every seed.
func noise(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewGray(image.Rect(0, 0, 40, 40))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	for x := range 40 { // a white frame, as Omniglot's background
		img.SetGray(x, 0, color.Gray{255})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// fakeRuns returns a two-run, 3-way layout in Lake's format whose test
// images are copies of training images: run01's labels name the copies'
// originals (any model that scores an image highest against itself gets
// every task right), run02's name the right image for item01 only (one
// task in three right).
func fakeRuns() map[string][]byte {
	files := map[string][]byte{}
	for _, run := range []string{"run01", "run02"} {
		for c := 1; c <= 3; c++ {
			files[fmt.Sprintf("%s/training/class%02d.png", run, c)] = noise(uint64(c))
		}
		// item k is a copy of class (k mod 3) + 1: item01 = class02, ...
		for k := 1; k <= 3; k++ {
			files[fmt.Sprintf("%s/test/item%02d.png", run, k)] = noise(uint64(k%3 + 1))
		}
	}
	files["run01/class_labels.txt"] = []byte("run01/test/item01.png run01/training/class02.png\n" +
		"run01/test/item02.png run01/training/class03.png\n" +
		"run01/test/item03.png run01/training/class01.png\n")
	files["run02/class_labels.txt"] = []byte("test/item01.png training/class02.png\r\n" +
		"test/item02.png training/class01.png\r\n" +
		"test/item03.png training/class03.png\r\n")
	return files
}

// writeRuns writes the layout as an all_runs folder under dir and as a zip
// at zipPath (runs inside an all_runs folder, as the official zip).
func writeRuns(t *testing.T, dir, zipPath string, files map[string][]byte) {
	t.Helper()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, b := range files {
		if dir != "" {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		w, err := zw.Create("all_runs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if zipPath != "" {
		if err := os.MkdirAll(filepath.Dir(zipPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(zipPath, zb.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const wantText = " run 01 (error 0.0%)\n run 02 (error 66.7%)\naverage error 33.3%\nmean accuracy 66.7% (2 runs)\n"

func TestOneshotFakeRuns(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	folder, zipPath := filepath.Join(dir, "all_runs"), filepath.Join(dir, "all_runs.zip")
	writeRuns(t, folder, zipPath, fakeRuns())
	for _, runs := range []string{folder, zipPath} {
		var out, errOut bytes.Buffer
		if rc := run([]string{"-model", model, "-runs", runs}, &out, &errOut); rc != 0 {
			t.Fatalf("%s: exit %d: %s", runs, rc, errOut.String())
		}
		if !strings.HasPrefix(out.String(), wantText) || !strings.Contains(out.String(), "scores of the runs' pairs (6 same, 6 different): AUC ") {
			t.Errorf("%s: output\n%s\nwant\n%s and the pairs' line", runs, out.String(), wantText)
		}
		if strings.Contains(out.String(), "reliability diagram") {
			t.Errorf("%s: a diagram written with -model and no -reliability:\n%s", runs, out.String())
		}
	}
}

func TestOneshotJSON(t *testing.T) {
	model := tinyModel(t)
	zipPath := filepath.Join(t.TempDir(), "all_runs.zip")
	writeRuns(t, "", zipPath, fakeRuns())
	var out, errOut bytes.Buffer
	diagram := filepath.Join(t.TempDir(), "rel.png")
	if rc := run([]string{"-model", model, "-runs", zipPath, "-json", "-reliability", diagram}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var r result
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if r.Model != model || r.Runs != zipPath || len(r.PerRun) != 2 || !near(r.MeanAccuracy, 2./3) || !near(r.MeanErrorRate, 1./3) {
		t.Fatalf("result %+v", r)
	}
	for i, want := range []runResult{{"run01", 3, 3, 1, 0}, {"run02", 3, 1, 1. / 3, 2. / 3}} {
		got := r.PerRun[i]
		if got.Name != want.Name || got.Tasks != want.Tasks || got.Correct != want.Correct || !near(got.Accuracy, want.Accuracy) || !near(got.ErrorRate, want.ErrorRate) {
			t.Errorf("run %d: %+v, want %+v", i, got, want)
		}
	}
	// The pairs: each task's test image against its answer and one other
	// training image, scored by the model as eval.RunPairs does.
	p := r.Pairs
	if p == nil || p.Same != 6 || p.Different != 6 || p.Reliability != diagram || !(p.AUC >= 0 && p.AUC <= 1) || !(p.ECE >= 0 && p.ECE <= 1) {
		t.Fatalf("pairs %+v", p)
	}
	if _, err := os.Stat(diagram); err != nil {
		t.Errorf("reliability diagram: %v", err)
	}
	m, err := siamese.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := eval.LoadOmniglotRuns(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	scores, labels, err := eval.RunPairs(train.OneShotScorer(m), runs)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, sc := range scores {
		if (sc >= m.Threshold()) == (labels[i] == 1) {
			right++
		}
	}
	if !near(p.Accuracy, float64(right)/12) || p.Threshold != m.Threshold() {
		t.Errorf("accuracy %g at %g, want %g at %g", p.Accuracy, p.Threshold, float64(right)/12, m.Threshold())
	}
	if !near(p.Accuracy, (p.SameAccuracy+p.DifferentAccuracy)/2) {
		t.Errorf("accuracy %g is not the mean of %g and %g over balanced pairs", p.Accuracy, p.SameAccuracy, p.DifferentAccuracy)
	}
}

// TestOneshotPrecision: -precision bf16 evaluates with bfloat16 encoders
// where they run, saying so in the text and the JSON, and elsewhere stops
// with the reason (the build tag or the CPU) before any work.
func TestOneshotPrecision(t *testing.T) {
	model := tinyModel(t)
	zipPath := filepath.Join(t.TempDir(), "all_runs.zip")
	writeRuns(t, "", zipPath, fakeRuns())
	var out, errOut bytes.Buffer
	rc := run([]string{"-model", model, "-runs", zipPath, "-precision", "bf16"}, &out, &errOut)
	if avail := resnet.PrecisionAvailable(resnet.BF16); avail != nil {
		if rc != 1 || out.Len() > 0 || !strings.Contains(errOut.String(), "precision unavailable") {
			t.Fatalf("bf16 unavailable (%v): exit %d, stdout %q, stderr %q", avail, rc, out.String(), errOut.String())
		}
		t.Skipf("skipped the bf16 evaluation: %v", avail)
	}
	if rc != 0 || !strings.Contains(out.String(), "(2 runs)\nprecision bf16: ") {
		t.Fatalf("exit %d, output %q, stderr %q", rc, out.String(), errOut.String())
	}
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-precision", "bf16", "-json", "-vs-fp32"}, &out, &errOut); rc != 0 {
		t.Fatalf("-json: exit %d: %s", rc, errOut.String())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Precision != "bf16" || len(r.PerRun) != 2 {
		t.Fatalf("-json: %v, result %+v", err, r)
	}
	// the fake runs embed 6 training and 6 test images once each
	if v := r.VsFP32; v == nil || v.Images != 12 || !(v.MaxRelError > 0 && v.MaxRelError < 0.2) || !(v.MedianRelError <= v.MaxRelError) ||
		!(v.MinCosine > 0.99 && v.MinCosine <= 1) || !(v.MeanAccuracy >= 0 && v.MeanAccuracy <= 1) {
		t.Errorf("-vs-fp32: %+v", r.VsFP32)
	} else {
		t.Logf("-vs-fp32: %+v", *v)
	}
}

// TestOneshotDefaultRuns finds the runs at ../shared/omniglot/all_runs.zip
// from the working directory, and says what to do when they are absent.
func TestOneshotDefaultRuns(t *testing.T) {
	model := tinyModel(t)
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	os.Mkdir(repo, 0o755)
	writeRuns(t, "", filepath.Join(root, "shared", "omniglot", "all_runs.zip"), fakeRuns())
	t.Chdir(repo)
	var out, errOut bytes.Buffer
	if rc := run([]string{"-model", model}, &out, &errOut); rc != 0 || !strings.HasPrefix(out.String(), wantText) {
		t.Fatalf("exit %d, output %q, stderr %q", rc, out.String(), errOut.String())
	}

	t.Chdir(root)
	out.Reset()
	errOut.Reset()
	rc := run([]string{"-model", model}, &out, &errOut)
	msg := errOut.String()
	if rc != 1 || out.Len() > 0 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, defaultRuns) || !strings.Contains(msg, "-runs") {
		t.Errorf("without runs: exit %d, stderr %q", rc, msg)
	}
}

// TestOneshotOfficialRuns runs the 20 official runs when present.
func TestOneshotOfficialRuns(t *testing.T) {
	if _, err := os.Stat(realRuns); err != nil {
		t.Skipf("Omniglot runs not present (%v)", err)
	}
	model := tinyModel(t)
	var out, errOut bytes.Buffer
	if rc := run([]string{"-model", model, "-runs", realRuns}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 23 || !strings.HasPrefix(lines[0], " run 01 (error ") || !strings.HasPrefix(lines[19], " run 20 (error ") ||
		!strings.HasPrefix(lines[20], "average error ") || !strings.HasSuffix(lines[21], "(20 runs)") ||
		!strings.HasPrefix(lines[22], "scores of the runs' pairs (400 same, 400 different): ") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestOneshotErrors(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	runs := filepath.Join(dir, "all_runs")
	writeRuns(t, runs, "", fakeRuns())
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("garbage"), 0o644)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("a text file of some length, whose first eight bytes make a huge number\n"), 0o644)
	weights := modeltest.Weights(t, dir)
	broken := filepath.Join(dir, "broken_runs")
	files := fakeRuns()
	files["run02/class_labels.txt"] = []byte("test/item01.png\n")
	writeRuns(t, broken, "", files)
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-bogus"}, 2, "bogus"},
		{[]string{"-runs", runs, "-background", filepath.Join(dir, "nobg.zip")}, 1, "nobg.zip"},
		{[]string{"-runs", runs, "-recipe", "magic"}, 2, "no recipe \"magic\""},
		{[]string{"-runs", runs, "-recipe", "oneshot", "-size", "8"}, 1, "input size 8"},
		{[]string{"-runs", runs, "-norm", "zscore"}, 2, "-norm"},
		{[]string{"-model", model, "-runs", runs, "-precision", "fp16"}, 2, "-precision"},
		{[]string{"-runs", runs, "-cosine-scale", "-3"}, 1, "cosine scale -3"},
		{[]string{"-runs", runs, "-pretrain-epochs", "-1"}, 2, "must not be negative"},
		{[]string{"-runs", runs, "-pair-epochs", "-2"}, 2, "must not be negative"},
		{[]string{"-runs", runs, "-size", "-5"}, 2, "must not be negative"},
		{[]string{"-runs", runs, "-lr", "-0.1"}, 2, "must not be negative"},
		{[]string{"-runs", runs, "-smoothing", "-0.5"}, 2, "must not be negative"},
		{[]string{"-runs", runs, "-metric-steps", "-1"}, 2, "must not be negative"},
		{[]string{"-runs", runs, "-metric-loss", "contrastive"}, 2, `recipe "oneshot" has no metric learning stage`},
		{[]string{"-runs", runs, "-recipe", "oneshot-triplet", "-metric-loss", "quadruplet"}, 2, `unknown metric loss "quadruplet"`},
		{[]string{"-model", model, "-runs", runs, "extra"}, 2, "unexpected argument"},
		{[]string{"-model", model, "-runs", runs, "-tta", "-1"}, 2, "-tta must not be negative"},
		{[]string{"-runs", runs, "-heldout"}, 2, "-heldout evaluates a trained model"},
		{[]string{"-model", model, "-heldout", "-recipe", "magic"}, 2, "no recipe \"magic\""},
		{[]string{"-model", filepath.Join(dir, "none.safetensors"), "-runs", runs}, 1, "none.safetensors"},
		{[]string{"-model", bad, "-runs", runs}, 1, "bad.safetensors"},
		{[]string{"-model", notes, "-runs", runs}, 1, "not a model file"},
		{[]string{"-model", weights, "-runs", runs}, 1, "not a model file but bare network weights"},
		{[]string{"-model", model, "-runs", filepath.Join(dir, "nowhere")}, 1, "nowhere"},
		{[]string{"-model", model, "-runs", broken}, 1, "run02/class_labels.txt:1"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		rc := run(c.args, &out, &errOut)
		first := strings.SplitN(errOut.String(), "\n", 2)[0]
		if rc != c.rc || !strings.Contains(first, c.want) || strings.Contains(errOut.String(), "panic") || out.Len() > 0 || strings.Contains(errOut.String(), "exceeds the maximum") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
	var out, errOut bytes.Buffer
	if rc := run([]string{"-h"}, &out, &errOut); rc != 0 {
		t.Errorf("-h: exit %d", rc)
	}
	for _, f := range []string{"-model", "-runs", "-json"} {
		if !strings.Contains(errOut.String(), "  "+f) {
			t.Errorf("-h does not explain %s", f)
		}
	}
}

// writeBackground writes a made-up Omniglot background folder under dir:
// 20 characters in two alphabets, 3 drawings each.
func writeBackground(t *testing.T, dir string) string {
	t.Helper()
	bg := filepath.Join(dir, "background")
	for c := range 20 {
		for k := range 3 {
			p := filepath.Join(bg, fmt.Sprintf("Alphabet%d", c/10), fmt.Sprintf("character%02d", c%10+1), fmt.Sprintf("%02d.png", k))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, noise(uint64(100+10*c+k)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bg
}

// TestOneshotTTA: -tta gives every image the same distortions, so the
// fake runs' copies still find their originals; it says so in the text
// and the JSON.
func TestOneshotTTA(t *testing.T) {
	model := tinyModel(t)
	zipPath := filepath.Join(t.TempDir(), "all_runs.zip")
	writeRuns(t, "", zipPath, fakeRuns())
	var out, errOut bytes.Buffer
	if rc := run([]string{"-model", model, "-runs", zipPath, "-tta", "4"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	if !strings.HasPrefix(out.String(), wantText) || !strings.Contains(out.String(), "test-time augmentation: each image the mean of 4 embeddings") {
		t.Errorf("output\n%s\nwant\n%s and the augmentation's line", out.String(), wantText)
	}
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-tta", "4", "-json"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var r, plain result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.TTA != 4 || math.Abs(r.MeanAccuracy-2./3) > 1e-12 {
		t.Errorf("JSON: tta %d, mean accuracy %v (%v)", r.TTA, r.MeanAccuracy, err)
	}
	// The pairs keep the model's own scores.
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-json"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	if err := json.Unmarshal(out.Bytes(), &plain); err != nil || plain.TTA != 1 || plain.TTATurns || r.Pairs == nil || plain.Pairs == nil || *r.Pairs != *plain.Pairs {
		t.Errorf("pairs with -tta %+v, without %+v (%v)", r.Pairs, plain.Pairs, err)
	}
	// -tta-turns: the copies still find their originals, turn by turn.
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-tta", "2", "-tta-turns", "-json"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var turns result
	if err := json.Unmarshal(out.Bytes(), &turns); err != nil || turns.TTA != 2 || !turns.TTATurns || math.Abs(turns.MeanAccuracy-2./3) > 1e-12 || turns.Pairs == nil || *turns.Pairs != *plain.Pairs {
		t.Errorf("-tta-turns JSON: %+v (%v)", turns, err)
	}
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-tta-turns"}, &out, &errOut); rc != 0 || !strings.Contains(out.String(), "test-time augmentation: one embedding per image and per quarter turn, compared turn by turn") {
		t.Errorf("-tta-turns text: exit %d: %s%s", rc, out.String(), errOut.String())
	}
	// -ensemble with the model itself: the mean of two equal distances
	// ranks as the model alone; the pairs keep the model's own scores.
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-ensemble", model, "-json"}, &out, &errOut); rc != 0 {
		t.Fatalf("-ensemble: exit %d: %s", rc, errOut.String())
	}
	var ens result
	if err := json.Unmarshal(out.Bytes(), &ens); err != nil || !slices.Equal(ens.Ensemble, []string{model}) || ens.MeanAccuracy != plain.MeanAccuracy || ens.Pairs == nil || *ens.Pairs != *plain.Pairs {
		t.Errorf("-ensemble JSON: %+v (%v), want the model's accuracy %v", ens, err, plain.MeanAccuracy)
	}
	out.Reset()
	if rc := run([]string{"-model", model, "-runs", zipPath, "-ensemble", model + ", " + model}, &out, &errOut); rc != 0 || !strings.HasPrefix(out.String(), wantText) || !strings.Contains(out.String(), "ensemble: -model's encoder and "+model+", "+model+", scored by -model's head") {
		t.Errorf("-ensemble text: exit %d: %s%s", rc, out.String(), errOut.String())
	}
	missing := filepath.Join(t.TempDir(), "epoch9.safetensors")
	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-runs", zipPath, "-ensemble", model}, 2, "give the model with -model"},
		{[]string{"-model", model, "-runs", zipPath, "-ensemble", missing}, 1, "-ensemble: "},
	} {
		errOut.Reset()
		if rc := run(c.args, &out, &errOut); rc != c.rc || !strings.Contains(errOut.String(), c.want) || c.rc == 1 && !strings.Contains(errOut.String(), "epoch9.safetensors") {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
}

// TestOneshotHeldout evaluates a model on the background images a recipe
// holds out, not on the runs (which need not exist).
func TestOneshotHeldout(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	bg := writeBackground(t, dir)
	args := []string{"-model", model, "-heldout", "-background", bg, "-runs", filepath.Join(dir, "no_runs"), "-json"}
	var out, errOut bytes.Buffer
	if rc := run(args, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var h heldoutResult
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		t.Fatal(err)
	}
	// The default recipe's split of 20 classes (as TestOneshotTrains): 2
	// held out whole (the only ones with two images), one image of each
	// of the other 18.
	if h.Recipe != "oneshot" || h.Seed != 1 || h.TTA != 1 || h.Ways != 2 || h.Classes != 20 || h.Images != 24 || h.Tasks != 2*heldoutEpisodes || !(h.Accuracy >= 0 && h.Accuracy <= 1) {
		t.Errorf("held-out result %+v", h)
	}
	out.Reset()
	if rc := run(args[:len(args)-1], &out, &errOut); rc != 0 || !strings.Contains(out.String(), "100 2-way tasks, one embedding per image: accuracy") {
		t.Errorf("text: exit %d: %s%s", rc, out.String(), errOut.String())
	}
	out.Reset()
	if rc := run(append(args, "-tta", "3", "-tta-turns"), &out, &errOut); rc != 0 {
		t.Fatalf("-tta-turns: exit %d: %s", rc, errOut.String())
	}
	var turned heldoutResult
	if err := json.Unmarshal(out.Bytes(), &turned); err != nil || turned.TTA != 3 || !turned.TTATurns || turned.Tasks != h.Tasks {
		t.Errorf("held-out with -tta 3 -tta-turns: %+v (%v)", turned, err)
	}
	out.Reset()
	if rc := run(append(args, "-ensemble", model), &out, &errOut); rc != 0 {
		t.Fatalf("-ensemble: exit %d: %s", rc, errOut.String())
	}
	var ens heldoutResult
	if err := json.Unmarshal(out.Bytes(), &ens); err != nil || !slices.Equal(ens.Ensemble, []string{model}) || ens.Accuracy != h.Accuracy {
		t.Errorf("held-out with -ensemble of the model itself: %+v (%v), want accuracy %v", ens, err, h.Accuracy)
	}
}

// TestOneshotTrains trains by the default recipe at a tiny budget on a
// made-up background set, then evaluates: the run's files are written, the
// JSON names the training, and a finished run is not overwritten.
func TestOneshotTrains(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "all_runs")
	writeRuns(t, runs, "", fakeRuns())
	bg := writeBackground(t, dir)
	out := filepath.Join(dir, "run")
	args := []string{"-runs", runs, "-background", bg, "-out", out, "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-json"}
	var stdout, stderr bytes.Buffer
	if rc := run(args, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	tr := res.Training
	// 20 classes: 2 held out whole, the other 18 train and lend one image
	// each to validation (train.HoldAuto with fewer than 20 held out).
	if tr == nil || tr.Recipe != "oneshot" || tr.PretrainImages != 64 || tr.Pairs != 150*32 || tr.TrainClasses != 18 || tr.ValClasses != 20 || len(res.PerRun) != 2 {
		t.Errorf("result %+v, training %+v", res, tr)
	}
	if res.Pairs == nil || res.Pairs.Reliability != filepath.Join(out, "runs-reliability.png") {
		t.Errorf("pairs %+v, want the diagram in -out", res.Pairs)
	}
	for _, f := range []string{"pretrain.safetensors", "pretrain-log.csv", "best.safetensors", "log.csv", "runs-reliability.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	m, err := siamese.Load(filepath.Join(out, "best.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); c.Distance != siamese.Cosine || c.Input.Size != 32 || c.Input.Channels != 1 || m.Info()["recipe"] != "oneshot" {
		t.Errorf("model config %+v, info %v", c, m.Info())
	}
	stderr.Reset()
	if rc := run(args, &stdout, &stderr); rc != 1 || !strings.Contains(stderr.String(), "exists") {
		t.Errorf("second run into the same -out: exit %d, %s", rc, stderr.String())
	}

	// -resume on the finished run has nothing left to train: it evaluates
	// the same model. Another seed, -model, or a folder without a run are
	// refused.
	stdout.Reset()
	stderr.Reset()
	if rc := run(append(args, "-resume"), &stdout, &stderr); rc != 0 {
		t.Fatalf("resuming the finished run: exit %d: %s", rc, stderr.String())
	}
	var again result
	if err := json.Unmarshal(stdout.Bytes(), &again); err != nil || again.MeanAccuracy != res.MeanAccuracy {
		t.Errorf("resumed finished run: mean accuracy %v (%v), want %v", again.MeanAccuracy, err, res.MeanAccuracy)
	}
	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{append(args, "-resume", "-seed", "2"), 1, "Seed"},
		{[]string{"-model", filepath.Join(out, "best.safetensors"), "-resume"}, 2, "does not go with -model"},
		{[]string{"-runs", runs, "-background", bg, "-out", filepath.Join(dir, "empty"), "-resume"}, 1, "no run to continue"},
		{append(args, "-resume", "-force"), 2, "does not go with -resume"},
		{[]string{"-model", filepath.Join(out, "best.safetensors"), "-force"}, 2, "does not go with -resume or -model"},
	} {
		stderr.Reset()
		if rc := run(c.args, &stdout, &stderr); rc != c.rc || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, stderr.String(), c.rc, c.want)
		}
	}

	// -force replaces the finished run with a new one.
	before, _ := os.ReadFile(filepath.Join(out, "best.safetensors"))
	stderr.Reset()
	if rc := run(append(args, "-seed", "2", "-force"), &stdout, &stderr); rc != 0 {
		t.Fatalf("-force: exit %d: %s", rc, stderr.String())
	}
	if after, _ := os.ReadFile(filepath.Join(out, "best.safetensors")); bytes.Equal(before, after) {
		t.Error("-force left best.safetensors as it was")
	}

	// -invert and -norm reach the model, which saves them.
	inv := filepath.Join(dir, "inverted")
	invArgs := append(slices.Clone(args), "-out", inv, "-invert", "-norm", "unit")
	stderr.Reset()
	if rc := run(invArgs, &stdout, &stderr); rc != 0 {
		t.Fatalf("-invert -norm unit: exit %d: %s", rc, stderr.String())
	}
	m, err = siamese.Load(filepath.Join(inv, "best.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Config().Input; !in.Invert || in.Norm != preprocess.UnitRange {
		t.Errorf("-invert -norm unit: model input %+v", in)
	}
}
