package torchtest_test

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/safetensors"
	"github.com/gosiamese/gosiamese/siamese"
)

const python = "/usr/bin/python3"

// pyDir holds gosiamese_torch.py and roundtrip.py; the Python commands run
// there.
const pyDir = "../../python"

// tolerance is the largest relative difference allowed between Go's and
// PyTorch's embeddings and scores.
const tolerance = 1e-4

// pyEnv is the environment of the Python commands: no byte code written
// into the source tree.
func pyEnv() []string { return append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") }

// needTorch skips t unless Debian's python3 imports torch; with
// GOSIAMESE_REQUIRE_TORCH=1 it fails instead.
func needTorch(t *testing.T) {
	t.Helper()
	// Open the Python files here, so that go test's cache of results
	// knows them: an edit to them runs the tests again.
	for _, f := range []string{"gosiamese_torch.py", "roundtrip.py"} {
		if _, err := os.ReadFile(filepath.Join(pyDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(python, "-c", "import torch").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s cannot import torch (apt-get install python3-torch): %v %s", python, err, strings.TrimSpace(string(out)))
	if os.Getenv("GOSIAMESE_REQUIRE_TORCH") == "1" {
		t.Fatal(msg + "; GOSIAMESE_REQUIRE_TORCH=1")
	}
	t.Skip(msg)
}

// pyOutputs is what roundtrip.py writes for a model (loaded.json,
// trained.json).
type pyOutputs struct {
	EmbA   [][]float64 `json:"emb_a"`
	EmbB   [][]float64 `json:"emb_b"`
	EmbB2  [][]float64 `json:"emb_b2"`
	Logits []float64   `json:"logits"`
	Scores []float64   `json:"scores"`
	Losses []float64   `json:"losses"`
}

// goOutputs is the same, computed by the Go package from the images.
type goOutputs struct {
	embA, embB, embB2 []siamese.Embedding
	scores            []siamese.Score
}

func goScores(t *testing.T, m *siamese.Model, as, bs []image.Image) goOutputs {
	t.Helper()
	var o goOutputs
	var err error
	if o.embA, err = m.EmbedBatch(as); err != nil {
		t.Fatal(err)
	}
	if o.embB, err = m.EmbedBatch(bs); err != nil {
		t.Fatal(err)
	}
	if o.embB2, err = m.Network().EmbedImages(siamese.Second, bs); err != nil {
		t.Fatal(err)
	}
	pairs := make([][2]image.Image, len(as))
	for i := range as {
		pairs[i] = [2]image.Image{as[i], bs[i]}
	}
	if o.scores, err = m.CompareBatch(pairs); err != nil {
		t.Fatal(err)
	}
	return o
}

// relErr is the largest difference between the vectors relative to the
// largest magnitude of want.
func relErr(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, s float64
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-want[i]))
		s = max(s, math.Abs(want[i]))
	}
	if s == 0 {
		return d
	}
	return d / s
}

// compare checks Go's outputs against PyTorch's and returns the largest
// relative differences of the embeddings and of the scores.
func compare(t *testing.T, what string, g goOutputs, p pyOutputs) (embErr, scoreErr float64) {
	t.Helper()
	n := len(g.scores)
	if len(p.EmbA) != n || len(p.EmbB) != n || len(p.EmbB2) != n || len(p.Scores) != n {
		t.Fatalf("%s: PyTorch gave %d, %d, %d embeddings and %d scores for %d pairs", what, len(p.EmbA), len(p.EmbB), len(p.EmbB2), len(p.Scores), n)
	}
	for i := range n {
		for _, c := range []struct {
			name string
			got  siamese.Embedding
			want []float64
		}{{"a", g.embA[i], p.EmbA[i]}, {"b", g.embB[i], p.EmbB[i]}, {"b by the second tower", g.embB2[i], p.EmbB2[i]}} {
			e := relErr(c.got, c.want)
			embErr = max(embErr, e)
			if !(e <= tolerance) {
				t.Errorf("%s: pair %d: embedding of %s differs by %.3g relative (Go %v..., PyTorch %v...)", what, i, c.name, e, c.got[:min(4, len(c.got))], c.want[:min(4, len(c.want))])
			}
		}
		e := math.Abs(float64(g.scores[i])-p.Scores[i]) / p.Scores[i]
		scoreErr = max(scoreErr, e)
		if !(e <= tolerance) {
			t.Errorf("%s: pair %d: Go scores %.7g, PyTorch %.7g (logit %.5g): %.3g relative", what, i, float64(g.scores[i]), p.Scores[i], p.Logits[i], e)
		}
	}
	return embErr, scoreErr
}

// noiseImage is a w x h RGB image of smooth colour blobs plus noise.
func noiseImage(rng *rand.Rand, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	var fx, fy, ph [3]float64
	for c := range 3 {
		fx[c], fy[c], ph[c] = rng.Float64()*0.5, rng.Float64()*0.5, rng.Float64()*6
	}
	for y := range h {
		for x := range w {
			var v [3]uint8
			for c := range 3 {
				s := 0.5 + 0.35*math.Sin(fx[c]*float64(x)+fy[c]*float64(y)+ph[c]) + 0.15*(rng.Float64()-0.5)
				v[c] = uint8(max(0, min(255, math.Round(255*s))))
			}
			img.SetNRGBA(x, y, color.NRGBA{v[0], v[1], v[2], 255})
		}
	}
	return img
}

// jitter returns a copy of img with small noise added: a "same" partner.
func jitter(rng *rand.Rand, img *image.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	for i, v := range img.Pix {
		if i%4 == 3 {
			out.Pix[i] = v
			continue
		}
		out.Pix[i] = uint8(max(0, min(255, int(v)+rng.IntN(41)-20)))
	}
	return out
}

// perturb gives the model non-trivial BatchNorm statistics and affine
// parameters, head biases, and output weights that spread the logits of
// the pairs around 0, so that scores are neither all 0.5 nor saturated.
func perturb(t *testing.T, m *siamese.Model, rng *rand.Rand, as, bs []image.Image) {
	t.Helper()
	u := func(lo, hi float64) float32 { return float32(lo + (hi-lo)*rng.Float64()) }
	net := m.Network()
	err := net.ChangeParams(func() error {
		for _, p := range net.Params() {
			if p.Value.Dims() != 1 || strings.HasPrefix(p.Name, "out.") {
				continue
			}
			lo, hi := -0.2, 0.2
			switch {
			case strings.HasSuffix(p.Name, "running_var"):
				lo, hi = 0.5, 2
			case strings.HasPrefix(p.Name, "encoder") && strings.HasSuffix(p.Name, ".weight"):
				lo, hi = 0.5, 1.5
			}
			d := p.Float32s()
			for i := range d {
				d[i] = u(lo, hi)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g := goScores(t, m, as, bs)
	var mean float64
	for i := range g.embA {
		d, err := m.Config().Distance.Between(g.embA[i], g.embB2[i])
		if err != nil {
			t.Fatal(err)
		}
		mean += d / float64(len(g.embA))
	}
	if !(mean > 0) {
		t.Fatalf("mean distance %g between the pairs' embeddings", mean)
	}
	err = net.ChangeParams(func() error {
		for _, p := range net.Params() {
			switch p.Name {
			case "out.weight":
				d := p.Float32s()
				for i := range d {
					d[i] = -u(0.5, 1.5) * float32(3/mean)
				}
			case "out.bias":
				p.Float32s()[0] = 3
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeInputs(t *testing.T, path string, cfg preprocess.Config, as, bs []image.Image, labels []float32) {
	t.Helper()
	cfg = cfg.WithDefaults()
	shape := []int{len(as), cfg.Channels, cfg.Size, cfg.Size}
	a, err := preprocess.Batch(as, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := preprocess.Batch(bs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := []safetensors.Tensor{safetensors.F32("a", shape, a), safetensors.F32("b", shape, b), safetensors.F32("labels", []int{len(labels)}, labels)}
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string) pyOutputs {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p pyOutputs
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func paramMap(m *siamese.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Network().Params() {
		out[p.Name] = p.Float32s()
	}
	return out
}

// TestTorchRoundTrip writes small models from Go, has gosiamese_torch.py
// load them, score fixed inputs, write them back unchanged and train them
// a few steps, and checks every step against the Go package: PyTorch's
// embeddings and scores equal Go's to 1e-4 relative, the model written
// back loads bit-identically, and the trained one scores in Go as in
// PyTorch's eval mode.
func TestTorchRoundTrip(t *testing.T) {
	needTorch(t)
	cases := []struct {
		name string
		cfg  siamese.Config
	}{
		{"resnet18-l1", siamese.Config{
			Encoder: resnet.Config{Depth: 18, Width: 8},
			Hidden:  []int{32, 16},
			Input:   preprocess.Config{Size: 32},
			Seed:    1,
		}},
		{"resnet50-cosine-separate-frozen", siamese.Config{
			Encoder:        resnet.Config{Depth: 50, Width: 4, Pooling: resnet.PoolMax, BNMomentum: 0.05},
			Hidden:         []int{24},
			Dropout:        0.3,
			Distance:       siamese.Cosine,
			Input:          preprocess.Config{Size: 32, Channels: 1, Norm: preprocess.UnitRange, Invert: true},
			SeparateTowers: true,
			FrozenStages:   2,
			Seed:           2,
		}},
		{"resnet34-l2-flatten", siamese.Config{
			Encoder:  resnet.Config{Depth: 34, Width: 4, Pooling: resnet.PoolNone, BNEps: 1e-3},
			Hidden:   []int{},
			Dropout:  -1,
			Distance: siamese.L2,
			Input:    preprocess.Config{Size: 40, Norm: preprocess.Caffe},
			Seed:     3,
		}},
		{"resnet50-default", siamese.Config{Seed: 4}}, // the Keras original's design at 64x64
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.cfg.Encoder.Width == 0 {
				t.Skip("a full-width ResNet-50 in -short mode")
			}
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(uint64(ci)+1, 7))
			const n = 8
			var as, bs []image.Image
			var labels []float32
			for i := range n {
				a := noiseImage(rng, 48, 40)
				as = append(as, a)
				if i%2 == 0 {
					bs = append(bs, jitter(rng, a))
					labels = append(labels, 1)
				} else {
					bs = append(bs, noiseImage(rng, 48, 40))
					labels = append(labels, 0)
				}
			}
			m, err := siamese.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			perturb(t, m, rng, as, bs)
			if err := m.SetThreshold(0.375); err != nil {
				t.Fatal(err)
			}
			m.SetInfo("written_by", "TestTorchRoundTrip")
			model := filepath.Join(dir, "model.safetensors")
			if err := m.Save(model); err != nil {
				t.Fatal(err)
			}
			inputs := filepath.Join(dir, "inputs.safetensors")
			writeInputs(t, inputs, m.Config().Input, as, bs, labels)

			cmd := exec.Command(python, "roundtrip.py", model, inputs, dir, "--steps", "4", "--seed", "1", "--lr", "3e-3")
			cmd.Dir, cmd.Env = pyDir, pyEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}

			// 1. Go's model in PyTorch.
			want := goScores(t, m, as, bs)
			e1, s1 := compare(t, "Go model in PyTorch", want, readJSON(t, filepath.Join(dir, "loaded.json")))

			// 2. The model PyTorch wrote back, in Go: the same bits.
			back, err := siamese.Load(filepath.Join(dir, "resaved.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Config(), m.Config()) {
				t.Errorf("config written back:\n%+v\nwant\n%+v", back.Config(), m.Config())
			}
			if back.Threshold() != m.Threshold() || !reflect.DeepEqual(back.Info(), m.Info()) {
				t.Errorf("threshold %v, info %v written back; want %v, %v", back.Threshold(), back.Info(), m.Threshold(), m.Info())
			}
			orig := paramMap(m)
			for name, v := range paramMap(back) {
				if !reflect.DeepEqual(v, orig[name]) {
					t.Errorf("%s changed on the way through PyTorch", name)
				}
			}
			if got := goScores(t, back, as, bs); !reflect.DeepEqual(got, want) {
				t.Errorf("the model written back scores %v, the original %v", got.scores, want.scores)
			}

			// 3. Trained in PyTorch, scored in Go.
			trained, err := siamese.Load(filepath.Join(dir, "trained.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			py := readJSON(t, filepath.Join(dir, "trained.json"))
			got := goScores(t, trained, as, bs)
			e3, s3 := compare(t, "PyTorch-trained model in Go", got, py)
			var moved float64
			for i := range got.scores {
				moved = max(moved, math.Abs(float64(got.scores[i]-want.scores[i])))
			}
			if moved < 1e-3 {
				t.Errorf("training changed no score by more than %.2g; losses %v", moved, py.Losses)
			}
			if !strings.Contains(trained.Info()["trained_with"], "Adam") || trained.Info()["written_by"] != "TestTorchRoundTrip" {
				t.Errorf("trained model's info %v", trained.Info())
			}
			// Frozen stages (the stem and layer1 here) are left as they
			// were, BatchNorm statistics included; the rest trained.
			after := paramMap(trained)
			for name, v := range after {
				frozen := c.cfg.FrozenStages >= 2 && (strings.HasPrefix(name, "encoder.conv1") || strings.HasPrefix(name, "encoder.bn1") || strings.HasPrefix(name, "encoder.layer1.") ||
					strings.HasPrefix(name, "encoder_b.conv1") || strings.HasPrefix(name, "encoder_b.bn1") || strings.HasPrefix(name, "encoder_b.layer1."))
				same := reflect.DeepEqual(v, orig[name])
				if frozen && !same {
					t.Errorf("%s is in a frozen stage and changed in training", name)
				}
				if !frozen && same && (strings.HasSuffix(name, "conv1.weight") || name == "out.bias") {
					t.Errorf("%s did not change in training", name)
				}
			}
			t.Logf("max relative difference, Go model in PyTorch: embeddings %.2g, scores %.2g; PyTorch-trained model in Go: embeddings %.2g, scores %.2g (losses %.4g)", e1, s1, e3, s3, py.Losses)
		})
	}
}

// TestTorchRefuses checks that gosiamese_torch.py refuses, naming the
// problem, a model file whose config it does not know or whose tensors do
// not match it.
func TestTorchRefuses(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 4}, Hidden: []int{8}, Input: preprocess.Config{Size: 32}})
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, safetensors.F32(name, shape, v))
	}
	meta := f.Metadata
	f.Close()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(meta["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(cfg map[string]any, meta map[string]string, ts []safetensors.Tensor) []safetensors.Tensor
		want string
	}{
		{"good", func(map[string]any, map[string]string, []safetensors.Tensor) []safetensors.Tensor { return ts }, ""},
		{"unknown field", func(c map[string]any, _ map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
			c["Encoder"].(map[string]any)["Dilation"] = 2
			return ts
		}, "config field Encoder.Dilation is unknown"},
		{"unknown distance", func(c map[string]any, _ map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
			c["Distance"] = "hamming"
			return ts
		}, "config field Distance: 'hamming'"},
		{"classifier top", func(c map[string]any, _ map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
			c["Encoder"].(map[string]any)["NumClasses"] = 10
			return ts
		}, "config field Encoder.NumClasses"},
		{"version", func(_ map[string]any, md map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
			md["format_version"] = "2"
			return ts
		}, "unknown format version '2'"},
		{"missing tensor", func(_ map[string]any, _ map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
			var out []safetensors.Tensor
			for _, x := range ts {
				if x.Name != "head.0.bias" {
					out = append(out, x)
				}
			}
			return out
		}, "missing head.0.bias [8]"},
		{"hidden size", func(c map[string]any, _ map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
			c["Hidden"] = []int{9}
			return ts
		}, "head.0.weight: shape [9, 32], file has [8, 32]"},
	}
	// Write every file, then load them all in one Python process (each
	// start imports torch, which takes seconds).
	var paths []string
	for _, c := range cases {
		var cc map[string]any
		b, _ := json.Marshal(cfg)
		if err := json.Unmarshal(b, &cc); err != nil {
			t.Fatal(err)
		}
		md := map[string]string{}
		for k, v := range meta {
			md[k] = v
		}
		tt := c.edit(cc, md, ts)
		b, _ = json.Marshal(cc)
		md["config"] = string(b)
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
		if err := safetensors.WriteFile(path, tt, md); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	const script = `import json, sys, gosiamese_torch as gt
errs = []
for p in sys.argv[1:]:
    try:
        gt.load(p)
        errs.append("")
    except gt.FormatError as e:
        errs.append(str(e))
print(json.dumps(errs))`
	cmd := exec.Command(python, append([]string{"-c", script}, paths...)...)
	cmd.Dir, cmd.Env = pyDir, pyEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	var errs []string
	if err := json.Unmarshal(out, &errs); err != nil || len(errs) != len(cases) {
		t.Fatalf("Python printed %s (%v), want %d errors", out, err, len(cases))
	}
	for i, c := range cases {
		switch {
		case c.want == "" && errs[i] != "":
			t.Errorf("%s: %s", c.name, errs[i])
		case c.want != "" && errs[i] == "":
			t.Errorf("%s: loaded; want an error with %q", c.name, c.want)
		case c.want != "" && (!strings.HasPrefix(errs[i], "gosiamese_torch: ") || !strings.Contains(errs[i], c.want)):
			t.Errorf("%s: error %q, want one with %q", c.name, errs[i], c.want)
		}
	}
}

// TestTorchNormalize checks gt.normalize against the Go preprocessing of
// images already at the model's size: every normalisation, RGB and grey,
// with and without inversion.
func TestTorchNormalize(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 5))
	const size = 32
	img := noiseImage(rng, size, size)
	var paths []string
	var names []string
	for _, channels := range []int{3, 1} {
		for _, norm := range []preprocess.Normalization{preprocess.ImageNet, preprocess.Caffe, preprocess.UnitRange} {
			for _, invert := range []bool{false, true} {
				cfg := preprocess.Config{Size: size, Channels: channels, Norm: norm, Invert: invert}
				want, err := preprocess.Batch([]image.Image{img}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				// The input normalize takes: values in [0, 1], grey by
				// PIL's "L" weights.
				x := make([]float32, channels*size*size)
				for i := range size * size {
					p := img.Pix[4*i : 4*i+3]
					if channels == 1 {
						x[i] = float32(float64(299*int(p[0])+587*int(p[1])+114*int(p[2])) / (1000 * 255))
						continue
					}
					for c := range 3 {
						x[c*size*size+i] = float32(p[c]) / 255
					}
				}
				cj, err := json.Marshal(map[string]any{"Input": cfg})
				if err != nil {
					t.Fatal(err)
				}
				shape := []int{1, channels, size, size}
				path := filepath.Join(dir, fmt.Sprintf("%d-%v-%v.safetensors", channels, norm, invert))
				if err := safetensors.WriteFile(path, []safetensors.Tensor{safetensors.F32("x", shape, x), safetensors.F32("want", shape, want)}, map[string]string{"config": string(cj)}); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, path)
				names = append(names, fmt.Sprintf("%d channels, %v, invert %v", channels, norm, invert))
			}
		}
	}
	const script = `import json, sys, gosiamese_torch as gt
out = []
for p in sys.argv[1:]:
    ts, meta = gt.read_safetensors(p)
    got = gt.normalize(ts["x"], json.loads(meta["config"]))
    out.append(((got - ts["want"]).abs().max() / ts["want"].abs().max()).item())
print(json.dumps(out))`
	cmd := exec.Command(python, append([]string{"-c", script}, paths...)...)
	cmd.Dir, cmd.Env = pyDir, pyEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	var errs []float64
	if err := json.Unmarshal(out, &errs); err != nil || len(errs) != len(paths) {
		t.Fatalf("Python printed %s (%v), want %d differences", out, err, len(paths))
	}
	for i, e := range errs {
		if !(e <= 1e-6) {
			t.Errorf("%s: normalize differs from preprocess by %.3g relative", names[i], e)
		}
	}
}
