package resnet

import (
	"math"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	"gorgonia.org/tensor"
)

// TestParityInfer checks Infer, which a build may run apart from the graph
// (the onednn tag runs it in oneDNN), against torchvision's outputs.
func TestParityInfer(t *testing.T) {
	eachInferenceParityCase(t, func(t *testing.T, e *Encoder, x *tensor.Dense) []float32 {
		got, s, err := e.Infer(x)
		if err != nil {
			t.Fatal(err)
		}
		if s.Dims() != 2 || s[0] != 2 || s[1] != e.Features() {
			t.Fatalf("shape %v, want (2, %d)", s, e.Features())
		}
		return got
	})
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
