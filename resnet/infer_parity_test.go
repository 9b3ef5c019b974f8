package resnet

import (
	"math"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
)

// TestParityInfer checks Infer, which a build may run apart from the graph
// (the onednn tag runs it in oneDNN), against torchvision's outputs.
func TestParityInfer(t *testing.T) {
	cases := []struct {
		key   string
		cfg   Config
		input string
	}{
		{"resnet50.pooled", ResNet50(), "input"},
		{"resnet18.pooled", ResNet18(), "input"},
		{"resnet18_gray_max.pooled", Config{Depth: 18, InChannels: 1, Pooling: PoolMax}, "input_gray"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			if testing.Short() && c.cfg.Depth == 50 {
				t.Skip("ResNet-50 parity skipped in -short mode")
			}
			e, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			fillDeterministic(e)
			got, s, err := e.Infer(detTensor(c.input, -2, 2, 2, e.Config().InChannels, 64, 64))
			if err != nil {
				t.Fatal(err)
			}
			if s.Dims() != 2 || s[0] != 2 || s[1] != e.Features() {
				t.Fatalf("shape %v, want (2, %d)", s, e.Features())
			}
			want := reference(t, c.key)
			if r := relErr(got, want); r > 1e-4 || math.IsNaN(r) {
				t.Errorf("max |ours - torchvision| / max |torchvision| = %.3g, want <= 1e-4", r)
			} else {
				t.Logf("relative error %.3g over %d values", r, len(want))
			}
		})
	}
}

// TestInferMatchesGraph compares Infer with the inference graph for every
// pooling, both block kinds, odd batch and image sizes, and after the
// parameters and BatchNorm statistics change in place (as training changes
// them): Infer must read them at every call.
func TestInferMatchesGraph(t *testing.T) {
	for _, cfg := range []Config{
		{Depth: 50, Width: 8},
		{Depth: 50, Width: 8, Pooling: PoolNone},
		{Depth: 18, Width: 8, Pooling: PoolMax},
		{Depth: 18, Width: 16, InChannels: 1, NumClasses: 5},
	} {
		for _, shape := range [][4]int{{1, cfg.InChannels, 32, 32}, {3, cfg.InChannels, 40, 48}} {
			if shape[1] == 0 {
				shape[1] = 3
			}
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			fillDeterministic(e)
			x := detTensor("infer_graph", -2, 2, shape[:]...)
			for round := range 2 {
				if round == 1 {
					for _, p := range e.Params() {
						v := p.Value.Data().([]float32)
						for i := range v {
							v[i] *= 1.25
							if p.State {
								v[i] += 0.5
							}
						}
					}
				}
				got, s, err := e.Infer(x)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := run(t, e, layers.Inference, x, nil)
				if s.TotalSize() != len(want) {
					t.Fatalf("%+v %v: shape %v for %d values", cfg, shape, s, len(want))
				}
				if r := relErr(got, want); r > 1e-5 || math.IsNaN(r) {
					t.Errorf("%+v %v round %d: max |Infer - graph| / max |graph| = %.3g", cfg, shape, round, r)
				}
			}
		}
	}
}
