//go:build onednn

package resnet

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

// needBF16 skips t where the CPU has no native bfloat16, unless
// GOSIAMESE_REQUIRE_BF16=1 makes that a failure.
func needBF16(t *testing.T) {
	t.Helper()
	if err := PrecisionAvailable(BF16); err != nil {
		if errors.Is(err, ErrPrecisionUnavailable) && os.Getenv("GOSIAMESE_REQUIRE_BF16") != "1" {
			t.Skipf("skipped: %v (GOSIAMESE_REQUIRE_BF16=1 makes this a failure)", err)
		}
		t.Fatal(err)
	}
}

// embeddingError returns the largest relative error of got against want,
// max |got - want| / max |want| over each row of f values, and the
// smallest cosine similarity of a row with its reference.
func embeddingError(got, want []float32, f int) (rel, cos float64) {
	rel, cos = 0, 1
	for r := 0; r+f <= len(want); r += f {
		g, w := got[r:r+f], want[r:r+f]
		rel = max(rel, relErr(g, w))
		var dot, gg, ww float64
		for i := range w {
			dot += float64(g[i]) * float64(w[i])
			gg += float64(g[i]) * float64(g[i])
			ww += float64(w[i]) * float64(w[i])
		}
		cos = min(cos, dot/math.Sqrt(gg*ww))
	}
	return rel, cos
}

// BF16's tolerances against float32 (torchvision's outputs or Infer's):
// bfloat16 keeps 8 significant bits, a relative step of 2^-8, and the
// parity cases measured 4.5e-3 to 8.3e-3 relative error and cosines above
// 0.99998; PyTorch's bf16 autocast differs from its float32 by 7.8e-3 to
// 9.2e-3 on ResNet-50.
const (
	bf16MaxRelErr = 2e-2
	bf16MinCosine = 0.9995
)

// TestParityInferBF16 checks bf16 inference against torchvision's float32
// outputs on the parity cases, at bf16's tolerances.
func TestParityInferBF16(t *testing.T) {
	needBF16(t)
	for _, c := range inferenceParityCases {
		t.Run(c.key, func(t *testing.T) {
			e, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			fillDeterministic(e)
			x := detTensor(c.input, -2, 2, 2, e.Config().InChannels, 64, 64)
			got, s, err := e.InferWith(x, InferOptions{Precision: BF16})
			if err != nil {
				t.Fatal(err)
			}
			if s.Dims() != 2 || s[0] != 2 || s[1] != e.Features() {
				t.Fatalf("shape %v, want (2, %d)", s, e.Features())
			}
			want := reference(t, c.key)
			rel, cos := embeddingError(got, want, e.Features())
			t.Logf("bf16 against torchvision: max relative error %.3g, min cosine %.6f", rel, cos)
			if rel > bf16MaxRelErr || cos < bf16MinCosine || math.IsNaN(rel+cos) {
				t.Errorf("max relative error %.3g (want <= %g), min cosine %.6f (want >= %g)", rel, bf16MaxRelErr, cos, bf16MinCosine)
			}
			if rel < 1e-4 {
				t.Errorf("max relative error %.3g: float32's, so bf16 did not run", rel)
			}
		})
	}
}

// TestInferBF16MatchesFP32 compares bf16 inference with Infer's float32
// for every pooling, both block kinds and odd batch and image sizes, and
// after the parameters and BatchNorm statistics change in place: bf16
// must read them at every call too.
func TestInferBF16MatchesFP32(t *testing.T) {
	needBF16(t)
	for _, cfg := range []Config{
		{Depth: 18, Width: 16},
		{Depth: 50, Width: 8},
		{Depth: 50, Width: 8, Pooling: PoolNone},
		{Depth: 18, Width: 8, Pooling: PoolMax, InChannels: 1},
	} {
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		fillDeterministic(e)
		for _, shape := range [][4]int{{1, 0, 32, 32}, {3, 0, 40, 48}} {
			shape[1] = e.Config().InChannels
			x := detTensor("infer_bf16", -2, 2, shape[:]...)
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
				want, ws, err := e.Infer(x)
				if err != nil {
					t.Fatal(err)
				}
				got, gs, err := e.InferWith(x, InferOptions{Precision: BF16})
				if err != nil {
					t.Fatal(err)
				}
				if !gs.Eq(ws) {
					t.Fatalf("%+v %v: bf16 shape %v, float32 %v", cfg, shape, gs, ws)
				}
				rel, cos := embeddingError(got, want, len(want)/shape[0])
				if rel > bf16MaxRelErr || cos < bf16MinCosine || math.IsNaN(rel+cos) {
					t.Errorf("%+v %v round %d: max relative error %.3g (want <= %g), min cosine %.6f (want >= %g)",
						cfg, shape, round, rel, bf16MaxRelErr, cos, bf16MinCosine)
				}
				if rel < 1e-4 {
					t.Errorf("%+v %v round %d: max relative error %.3g: float32's, so bf16 did not run", cfg, shape, round, rel)
				}
			}
		}
	}
}

// TestInferBF16Rejects: bf16 inference refuses an encoder with a
// classifier top, and unknown precisions, with errors, and does not
// disturb Infer.
func TestInferBF16Rejects(t *testing.T) {
	needBF16(t)
	e, err := New(Config{Depth: 18, Width: 8, NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	x := detTensor("infer_bf16_top", -2, 2, 1, 3, 32, 32)
	if _, _, err := e.InferWith(x, InferOptions{Precision: BF16}); err == nil || !strings.HasPrefix(err.Error(), "resnet: ") {
		t.Errorf("classifier top: error %v", err)
	}
	if _, _, err := e.InferWith(x, InferOptions{Precision: 7}); err == nil {
		t.Error("Precision(7): no error")
	}
	if _, _, err := e.Infer(x); err != nil {
		t.Error(err)
	}
}
