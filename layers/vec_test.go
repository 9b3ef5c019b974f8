package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecMatchesGo: the epilogue, the ReLU and the ReLU's gradient mask
// (maskPos) give, bit for bit, what their Go loops give element by
// element, on lengths that leave a tail for the Go loop, and on values that
// test the rounding and the ReLU's edges: NaNs of either sign, infinities, signed zeros, subnormals. (Where
// two NaNs meet, which one an operation returns is up to the instruction's
// operand order, which Go does not fix either: any NaN is right.)
func TestVecMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	specials := []float32{float32(math.NaN()), -float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 3e38, -3e38}
	val := func() float32 {
		if rng.IntN(8) == 0 {
			return specials[rng.IntN(len(specials))]
		}
		return float32(rng.NormFloat64())
	}
	for _, n := range []int{0, 5, 8, 37, 256} {
		for _, withRes := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				t.Run(fmt.Sprintf("n%d_res%v_relu%v", n, withRes, relu), func(t *testing.T) {
					src := make([]float32, n)
					res := make([]float32, n+3) // the epilogue reads res[off:]
					for i := range src {
						src[i] = val()
					}
					for i := range res {
						res[i] = val()
					}
					e := &epilogue[float32]{scale: []float32{val(), 0.75}, shift: []float32{val(), -0.5}, relu: relu}
					if withRes {
						e.res = res
					}
					for f := range 2 {
						got := make([]float32, n)
						e.apply(f, 3, src, got)
						for i, v := range src {
							w := float32(float32(v*e.scale[f]) + e.shift[f])
							if withRes {
								w = float32(w + res[3+i])
							}
							if relu && !(w > 0) && w == w {
								w = 0
							}
							if !sameBits(got[i], w) {
								t.Fatalf("channel %d, element %d of %d: %g (%#x), want %g (%#x)", f, i, n, got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
							}
						}
					}
					if withRes {
						// maskPos, res playing dy
						got := make([]float32, n)
						maskPos(src, res[:n], got)
						for i, v := range src {
							w := float32(0)
							if v > 0 {
								w = res[i]
							}
							if math.Float32bits(got[i]) != math.Float32bits(w) {
								t.Fatalf("maskPos: element %d of %d: %g (%#x), want %g (%#x)", i, n, got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
							}
						}
					}
					if relu {
						got := append([]float32(nil), src...)
						reluInPlace(got)
						for i, v := range src {
							w := v
							if !(v > 0) && v == v {
								w = 0
							}
							if math.Float32bits(got[i]) != math.Float32bits(w) { // no arithmetic: the very bits
								t.Fatalf("ReLU: element %d of %d: %g (%#x), want %g (%#x)", i, n, got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
							}
						}
					}
				})
			}
		}
	}
}

// sameBits reports whether a and b have the same bits, or are both NaN.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}
