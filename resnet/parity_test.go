package resnet

import (
	"math"
	"testing"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/safetensors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The reference values in ../testdata/resnet_reference.safetensors come from
// torchvision 0.14 (PyTorch 1.13) through ../testdata/torchvision_reference.py,
// which builds every weight and input from its name with internal/detrand's
// recipe; fillDeterministic and detTensor below do the same here.

const referenceFile = "../testdata/resnet_reference.safetensors"

// fillDeterministic sets every parameter of e from the recipe.
func fillDeterministic(e *Encoder) { detrand.FillParams(e.Params()) }

func detTensor(name string, lo, hi float64, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(detrand.Uniform(name, n, lo, hi)))
}

func reference(t *testing.T, name string) []float32 {
	t.Helper()
	f, err := safetensors.Open(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// relErr returns max|got - want| / max|want|.
func relErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, m float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = max(m, math.Abs(float64(want[i])))
	}
	return d / m
}

// run builds e on a graph in mode over x and runs it once. With weights
// (the loss is sum(out ⊙ weights)) it also returns the gradient of every
// learnable parameter by name.
func run(t *testing.T, e *Encoder, mode layers.Mode, x, weights *tensor.Dense) ([]float32, map[string][]float32) {
	t.Helper()
	g := layers.NewGraph(mode, 1)
	xn := G.NodeFromAny(g.G, x, G.WithName("x"))
	y, err := e.Forward(g, xn)
	if err != nil {
		t.Fatal(err)
	}
	var out G.Value
	G.Read(y, &out)
	grads := map[string][]float32{}
	gvals := map[string]*G.Value{}
	if weights != nil {
		w := G.NodeFromAny(g.G, weights, G.WithName("w"))
		prod, err := G.HadamardProd(y, w)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := G.Sum(prod)
		if err != nil {
			t.Fatal(err)
		}
		nodes, params := g.Learnables()
		gs, err := G.Grad(loss, nodes...)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range params {
			v := new(G.Value)
			G.Read(gs[i], v)
			gvals[p.Name] = v
		}
	}
	vm := layers.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for k, v := range gvals {
		grads[k] = append([]float32(nil), (*v).Data().([]float32)...)
	}
	return append([]float32(nil), out.Data().([]float32)...), grads
}

// inferenceParityCases are the pooled outputs compared with torchvision's,
// each encoder on its reference input.
var inferenceParityCases = []struct {
	key   string
	cfg   Config
	input string
}{
	{"resnet50.pooled", ResNet50(), "input"},
	{"resnet18.pooled", ResNet18(), "input"},
	{"resnet18_gray_max.pooled", Config{Depth: 18, InChannels: 1, Pooling: PoolMax}, "input_gray"},
}

// eachInferenceParityCase runs check on a deterministic encoder of each
// case and its input, and compares what it returns with torchvision's.
func eachInferenceParityCase(t *testing.T, check func(t *testing.T, e *Encoder, x *tensor.Dense) []float32) {
	for _, c := range inferenceParityCases {
		t.Run(c.key, func(t *testing.T) {
			if testing.Short() && c.cfg.Depth == 50 {
				t.Skip("ResNet-50 parity skipped in -short mode")
			}
			e, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			fillDeterministic(e)
			got := check(t, e, detTensor(c.input, -2, 2, 2, e.Config().InChannels, 64, 64))
			want := reference(t, c.key)
			if r := relErr(got, want); r > 1e-4 || math.IsNaN(r) {
				t.Errorf("max |ours - torchvision| / max |torchvision| = %.3g, want <= 1e-4", r)
			} else {
				t.Logf("relative error %.3g over %d values", r, len(want))
			}
		})
	}
}

func TestParityInference(t *testing.T) {
	eachInferenceParityCase(t, func(t *testing.T, e *Encoder, x *tensor.Dense) []float32 {
		got, _ := run(t, e, layers.Inference, x, nil)
		return got
	})
}

func TestParityTraining(t *testing.T) {
	e, err := New(ResNet18())
	if err != nil {
		t.Fatal(err)
	}
	fillDeterministic(e)
	x := detTensor("train_input", -2, 2, 3, 3, 64, 64)
	w := detTensor("train_weights", -1, 1, 3, 512)
	_, grads := run(t, e, layers.Training, x, w)
	check := func(key string, got []float32, tol float64) {
		t.Helper()
		want := reference(t, key)
		if r := relErr(got, want); r > tol || math.IsNaN(r) {
			t.Errorf("%s: relative error %.3g, want <= %g", key, r, tol)
		} else {
			t.Logf("%s: relative error %.3g", key, r)
		}
	}
	check("train.grad.conv1.weight", grads["conv1.weight"], 1e-3)
	check("train.grad.layer4.1.conv2.weight[:8]", grads["layer4.1.conv2.weight"][:8*512*9], 1e-3)
	check("train.grad.layer2.0.downsample.0.weight", grads["layer2.0.downsample.0.weight"], 1e-3)
	check("train.grad.layer4.1.bn2.weight", grads["layer4.1.bn2.weight"], 1e-3)
	check("train.grad.layer4.1.bn2.bias", grads["layer4.1.bn2.bias"], 1e-3)
	for _, k := range []string{"bn1.running_mean", "bn1.running_var", "layer4.1.bn2.running_mean", "layer4.1.bn2.running_var"} {
		check("train."+k, e.Param(k).Float32s(), 1e-4)
	}
}
