package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// The exported graphs are run by ONNX Runtime (npm's onnxruntime-node,
// through testdata/ort_run.js) and their outputs compared with the
// library's. The runtime lives in $ORT_DIR/node_modules, or in
// ../bench/.ort/node_modules when ORT_DIR is unset; without it, or without
// node, the tests skip, unless GOSIAMESE_REQUIRE_ONNX is set (as CI sets
// it), when they fail.

// ortTolerance is the largest relative error allowed: the largest
// absolute difference over an output over its largest magnitude.
const ortTolerance = 1e-4

// ortDir returns the folder holding onnxruntime-node, or skips the test.
func ortDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ORT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "bench", ".ort")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		missing = fmt.Sprintf("onnxruntime-node is not in %s (npm install --ignore-scripts --prefix %s onnxruntime-node@1.30.0, or set ORT_DIR)", dir, dir)
	}
	if missing != "" {
		skipWithout(t, missing)
	}
	return dir
}

// tensorJSON is a tensor as testdata/ort_run.js reads and writes it.
type tensorJSON struct {
	Dims []int     `json:"dims"`
	Data []float32 `json:"data"`
}

// runORT runs the ONNX model in ONNX Runtime on feeds and returns its
// outputs by name.
func runORT(t *testing.T, dir string, model []byte, feeds map[string]tensorJSON) map[string]tensorJSON {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(feeds)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join("testdata", "ort_run.js"), path)
	cmd.Env = append(os.Environ(), "ORT_DIR="+dir)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v: %s", err, stderr.Bytes())
	}
	var res struct {
		Version string                `json:"version"`
		Outputs map[string]tensorJSON `json:"outputs"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ONNX Runtime's output: %v", err)
	}
	t.Logf("onnxruntime-node %s", res.Version)
	return res.Outputs
}

// relErr returns max|got-want| / max|want|, or +Inf when the lengths
// differ or a value is not finite.
func relErr(got, want []float32) float64 {
	if len(got) != len(want) || len(want) == 0 {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsInf(g, 0) || math.IsNaN(w) || math.IsInf(w, 0) {
			return math.Inf(1)
		}
		diff, scale = max(diff, math.Abs(g-w)), max(scale, math.Abs(w))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// ortModel is a Siamese model whose parameters all matter: the encoder's
// from detrand (BatchNorm statistics far from 0 and 1), the output
// weights from U(-1, 1) so that logits spread.
func ortModel(t *testing.T, cfg siamese.Config) *siamese.Model {
	t.Helper()
	m, err := siamese.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	net := m.Network()
	err = net.ChangeParams(func() error {
		for tw := range 2 {
			detrand.FillParams(net.Encoder(siamese.Tower(tw)).Params())
		}
		for _, p := range net.Params() {
			if p.Name == "out.weight" || p.Name == "out.bias" {
				copy(p.Float32s(), detrand.Uniform(p.Name, len(p.Float32s()), -1, 1))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// spreadLogits rescales m's output layer so that the logits of the pairs
// (a[i], b[i]) spread around 0 (bias 2, mean logit -2): scores far from 0
// and 1, where the sigmoid would hide differences.
func spreadLogits(t *testing.T, m *siamese.Model, a, b []image.Image) {
	t.Helper()
	net := m.Network()
	ea, err := net.EmbedImages(siamese.First, a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := net.EmbedImages(siamese.Second, b)
	if err != nil {
		t.Fatal(err)
	}
	var w, bias []float32
	for _, p := range net.Params() {
		switch p.Name {
		case "out.weight":
			w = p.Float32s()
		case "out.bias":
			bias = p.Float32s()
		}
	}
	var sum float64
	for i := range ea {
		z, err := net.Logit(ea[i], eb[i])
		if err != nil {
			t.Fatal(err)
		}
		sum += float64(bias[0]) - z
	}
	if sum <= 0 {
		t.Fatalf("the pairs' weighted distances sum to %g", sum)
	}
	scale := 4 * float64(len(ea)) / sum
	err = net.ChangeParams(func() error {
		for i := range w {
			w[i] = float32(float64(w[i]) * scale)
		}
		bias[0] = 2
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// images returns n detrand images of h x w pixels named prefix0...
func images(prefix string, n, h, w int) []image.Image {
	imgs := make([]image.Image, n)
	for i := range imgs {
		imgs[i] = detrand.Image(fmt.Sprint(prefix, i), h, w)
	}
	return imgs
}

// feed preprocesses imgs with m's configuration into an input tensor.
func feed(t *testing.T, m *siamese.Model, imgs []image.Image) tensorJSON {
	t.Helper()
	in := m.Config().Input
	pix, err := preprocess.Batch(imgs, in)
	if err != nil {
		t.Fatal(err)
	}
	return tensorJSON{Dims: []int{len(imgs), in.Channels, in.Size, in.Size}, Data: pix}
}

func flat[T ~[]float32](rows []T) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// check compares one output with the library's values and records the
// largest relative error seen.
func check(t *testing.T, worst *float64, what string, got tensorJSON, wantDims []int, want []float32) {
	t.Helper()
	if fmt.Sprint(got.Dims) != fmt.Sprint(wantDims) {
		t.Errorf("%s: ONNX Runtime gives shape %v, want %v", what, got.Dims, wantDims)
		return
	}
	e := relErr(got.Data, want)
	*worst = max(*worst, e)
	if e > ortTolerance {
		t.Errorf("%s: relative error %.3g against the library, over %g", what, e, ortTolerance)
	}
}

func TestONNXRuntimeAgrees(t *testing.T) {
	dir := ortDir(t)
	cases := []struct {
		name string
		cfg  siamese.Config
	}{
		// the two sizes the brief of the package promises, at full width
		{"resnet18", siamese.Config{Encoder: resnet.Config{Depth: 18}, Input: preprocess.Config{Size: 32}, Seed: 1}},
		{"resnet50-l2", siamese.Config{Encoder: resnet.Config{Depth: 50}, Distance: siamese.L2, Input: preprocess.Config{Size: 32}, Seed: 2}},
		// the other distances, towers and poolings, on narrow encoders
		{"resnet18-cosine-separate-maxpool", siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8, Pooling: resnet.PoolMax}, Hidden: []int{24, 16},
			Distance: siamese.Cosine, SeparateTowers: true, Input: preprocess.Config{Size: 32}, Seed: 3}},
		{"resnet50-flatten-grey-40", siamese.Config{Encoder: resnet.Config{Depth: 50, Width: 4, Pooling: resnet.PoolNone}, Hidden: []int{},
			Input: preprocess.Config{Size: 40, Channels: 1}, Seed: 4}},
	}
	worst := 0.0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.cfg.Encoder.Width == 0 {
				t.Skip("full-width encoders skipped in -short mode")
			}
			cw := 0.0 // this case's largest relative error
			defer func() {
				t.Logf("largest relative error: %.3g", cw)
				worst = max(worst, cw)
			}()
			m := ortModel(t, c.cfg)
			spreadLogits(t, m, images("a", 4, 37, 45), images("b", 4, 45, 37))
			f := m.Config().EmbeddingSize()
			var enc, search [2]bytes.Buffer
			var model bytes.Buffer
			towers := 1
			if c.cfg.SeparateTowers {
				towers = 2
			}
			for tw := range towers {
				if err := ExportEncoder(&enc[tw], m, Options{Tower: siamese.Tower(tw)}); err != nil {
					t.Fatal(err)
				}
				if err := ExportEncoder(&search[tw], m, Options{Tower: siamese.Tower(tw), SearchVectors: true}); err != nil {
					t.Fatal(err)
				}
			}
			if err := ExportModel(&model, m, Options{}); err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 5} {
				a := images("a", n, 37, 45)
				b := images("b", n, 45, 37)
				if n > 1 {
					b[n-1] = a[n-1] // a pair of one image twice
				}
				for tw := range towers {
					tower := siamese.Tower(tw)
					want, err := m.Network().EmbedImages(tower, a)
					if err != nil {
						t.Fatal(err)
					}
					got := runORT(t, dir, enc[tw].Bytes(), map[string]tensorJSON{Image: feed(t, m, a)})
					check(t, &cw, fmt.Sprintf("tower %d, batch %d, %s", tw, n, EmbeddingOutput), got[EmbeddingOutput], []int{n, f}, flat(want))
					sv, err := m.SearchVectors(tower, a)
					if err != nil {
						t.Fatal(err)
					}
					got = runORT(t, dir, search[tw].Bytes(), map[string]tensorJSON{Image: feed(t, m, a)})
					check(t, &cw, fmt.Sprintf("tower %d, batch %d, search vectors", tw, n), got[EmbeddingOutput], []int{n, f}, flat(sv))
				}
				ea, err := m.Network().EmbedImages(siamese.First, a)
				if err != nil {
					t.Fatal(err)
				}
				eb, err := m.Network().EmbedImages(siamese.Second, b)
				if err != nil {
					t.Fatal(err)
				}
				pairs := make([][2]image.Image, n)
				logits, scores := make([]float32, n), make([]float32, n)
				for i := range pairs {
					pairs[i] = [2]image.Image{a[i], b[i]}
					z, err := m.Network().Logit(ea[i], eb[i])
					if err != nil {
						t.Fatal(err)
					}
					logits[i] = float32(z)
				}
				ss, err := m.CompareBatch(pairs)
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range ss {
					scores[i] = float32(s)
				}
				got := runORT(t, dir, model.Bytes(), map[string]tensorJSON{ImageA: feed(t, m, a), ImageB: feed(t, m, b)})
				check(t, &cw, fmt.Sprintf("batch %d, %s", n, Logit), got[Logit], []int{n, 1}, logits)
				check(t, &cw, fmt.Sprintf("batch %d, %s", n, Score), got[Score], []int{n, 1}, scores)
				t.Logf("batch %d: logits %v", n, logits)
			}
		})
	}
	t.Logf("largest relative error against ONNX Runtime: %.3g", worst)
}
