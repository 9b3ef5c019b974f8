//go:build onednn

package onednn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
	}
	return v
}

// naive is the textbook convolution in float64, with the affine map and
// ReLU of the forward kinds.
func naive(s Shape, x, w, scale, shift []float32, relu bool) []float64 {
	y := make([]float64, s.N*s.F*s.OH*s.OW)
	for n := range s.N {
		for f := range s.F {
			for i := range s.OH {
				for j := range s.OW {
					var v float64
					for c := range s.C {
						for ki := range s.KH {
							for kj := range s.KW {
								ih, iw := i*s.SH-s.PH+ki*s.DH, j*s.SW-s.PW+kj*s.DW
								if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
									continue
								}
								v += float64(x[((n*s.C+c)*s.H+ih)*s.W+iw]) * float64(w[((f*s.C+c)*s.KH+ki)*s.KW+kj])
							}
						}
					}
					if scale != nil {
						v = v*float64(scale[f]) + float64(shift[f])
					}
					if relu {
						v = max(v, 0)
					}
					y[((n*s.F+f)*s.OH+i)*s.OW+j] = v
				}
			}
		}
	}
	return y
}

// TestConvForward checks the forward kinds against a naive convolution and
// that oneDNN names the implementation it chose.
func TestConvForward(t *testing.T) {
	for _, s := range []Shape{
		{N: 2, C: 16, H: 9, W: 10, F: 32, OH: 9, OW: 10, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
		{N: 1, C: 3, H: 11, W: 11, F: 16, OH: 6, OW: 6, KH: 7, KW: 7, SH: 2, SW: 2, PH: 3, PW: 3, DH: 1, DW: 1},
		{N: 3, C: 20, H: 8, W: 8, F: 24, OH: 4, OW: 4, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		x, w := randSlice(rng, s.N*s.C*s.H*s.W), randSlice(rng, s.F*s.C*s.KH*s.KW)
		scale, shift := randSlice(rng, s.F), randSlice(rng, s.F)
		for _, kind := range []Kind{Forward, ForwardAffine, ForwardAffineReLU} {
			var sc, sh []float32
			if kind != Forward {
				sc, sh = scale, shift
			}
			y := make([]float32, s.N*s.F*s.OH*s.OW)
			if err := Conv(kind, s, x, w, sc, sh, y); err != nil {
				t.Fatal(err)
			}
			want := naive(s, x, w, sc, sh, kind == ForwardAffineReLU)
			for i, v := range want {
				if math.Abs(float64(y[i])-v) > 1e-4*(1+math.Abs(v)) {
					t.Fatalf("%v %+v: element %d: %g, want %g", kind, s, i, y[i], v)
				}
			}
			if impl := Impl(kind, s); impl == "" {
				t.Errorf("%v %+v: no implementation named", kind, s)
			} else {
				t.Logf("%v %+v: %s", kind, s, impl)
			}
		}
	}
}

func TestConvRejects(t *testing.T) {
	s := Shape{N: 1, C: 1, H: 3, W: 3, F: 2, OH: 3, OW: 3, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1}
	x, w, y := make([]float32, 9), make([]float32, 2), make([]float32, 18)
	if err := Conv(ForwardAffine, s, x, w, make([]float32, 1), make([]float32, 2), y); err == nil || !strings.HasPrefix(err.Error(), "onednn: ") {
		t.Errorf("one scale for two channels: error %v", err)
	}
	if err := Conv(Forward, s, nil, w, nil, nil, y); err == nil {
		t.Error("no input: no error")
	}
	bad := s
	bad.OH = 4 // does not follow from the geometry
	if err := Conv(Forward, bad, x, w, nil, nil, make([]float32, 24)); err == nil || !strings.HasPrefix(err.Error(), "onednn: ") {
		t.Errorf("wrong output size: error %v", err)
	}
}
