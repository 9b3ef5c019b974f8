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

// TestBNLanesMatchGo: BatchNorm's channel sums and its input gradient
// (bnvec.go) give, bit for bit, what their formulas give element by element
// in the documented lane order, with and without the ReLU's mask, on run
// lengths that leave a tail for the Go loop, are too short for the vector
// code, or span several pieces, and on values with NaNs, infinities, signed
// zeros and subnormals. On amd64 most of each long run is done by AVX2
// code; elsewhere the Go loops are checked against the formulas alone.
func TestBNLanesMatchGo(t *testing.T) {
	if !vecAVX2 {
		t.Log("no AVX2 code in this build or on this CPU: checking the Go loops only")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 3e38}
	val := func(special bool) float32 {
		if special && rng.IntN(16) == 0 {
			return specials[rng.IntN(len(specials))]
		}
		return float32(rng.NormFloat64()*3 + 1)
	}
	const n, c = 3, 2
	for _, sp := range []int{1, 4, 5, 16, 37, 100, 256, 300, 600} {
		for _, special := range []bool{false, true} {
			for _, masked := range []bool{false, true} {
				x, y, dy := make([]float32, n*c*sp), make([]float32, n*c*sp), make([]float32, n*c*sp)
				for i := range x {
					x[i], y[i], dy[i] = val(special), val(special), val(special)
				}
				for ch := range c {
					name := fmt.Sprintf("sp%d_special%v_masked%v_channel%d", sp, special, masked, ch)
					// the channel's values, run by run, and d
					var xs, ds []float32
					for i := range n {
						off := (i*c + ch) * sp
						xs = append(xs, x[off:off+sp]...)
						for j := range sp {
							d := dy[off+j]
							if masked && !(y[off+j] > 0) {
								d = 0
							}
							ds = append(ds, d)
						}
					}
					var sum, sq [16]float64
					for q, v := range xs {
						sum[q%sp%16] += float64(v)
					}
					var gm, gv [c]float64
					blockStats(x, n, c, sp, 0, c, gm[:], gv[:])
					if want := total(&sum) / float64(n*sp); !same64(gm[ch], want) {
						t.Fatalf("%s: mean %g, want %g", name, gm[ch], want)
					}
					mean := gm[ch]
					for q, v := range xs {
						d := float64(v) - mean
						sq[q%sp%16] += float64(d * d)
					}
					if want := total(&sq) / float64(n*sp); !same64(gv[ch], want) {
						t.Fatalf("%s: variance %g, want %g", name, gv[ch], want)
					}
					m32 := float32(mean)
					var lanes [32]float32
					var wdy, wdyx float64
					count := 0
					for q := 0; q < len(xs); {
						j := q % sp
						piece := min(gradRun-j%gradRun, sp-j)
						if count+piece > gradRun {
							for l := range 16 {
								wdy += float64(lanes[l])
								wdyx += float64(lanes[16+l])
							}
							lanes, count = [32]float32{}, 0
						}
						count += piece
						for e := range piece {
							lanes[(j+e)%16] += ds[q+e]
							lanes[16+(j+e)%16] += float32(ds[q+e] * float32(xs[q+e]-m32))
						}
						q += piece
					}
					for l := range 16 {
						wdy += float64(lanes[l])
						wdyx += float64(lanes[16+l])
					}
					g := gradSums[float32]{mean: m32}
					for i := range n {
						off := (i*c + ch) * sp
						var yr []float32
						if masked {
							yr = y[off : off+sp]
						}
						g.add(x[off:off+sp], yr, dy[off:off+sp], make([]float32, sp))
					}
					gdy, gdyx := g.sums()
					if !same64(gdy, wdy) || !same64(gdyx, wdyx) {
						t.Fatalf("%s: gradient sums %g, %g, want %g, %g", name, gdy, gdyx, wdy, wdyx)
					}
					a, b, cc := val(false), val(false), val(false)
					out := make([]float32, n*c*sp)
					for i := range n {
						off := (i*c + ch) * sp
						var yr []float32
						if masked {
							yr = y[off : off+sp]
						}
						gradXRun(x[off:off+sp], yr, dy[off:off+sp], out[off:off+sp], a, b, cc, m32)
					}
					for i := range n {
						for j := range sp {
							q, off := i*sp+j, (i*c+ch)*sp+j
							w := float32(float32(float32(a*ds[q])+float32(b*float32(xs[q]-m32))) + cc)
							if !sameBits(out[off], w) {
								t.Fatalf("%s: dx[%d] = %g (%#x), want %g (%#x)", name, off, out[off], math.Float32bits(out[off]), w, math.Float32bits(w))
							}
						}
					}
				}
			}
		}
	}
}

// same64 reports whether a and b have the same bits, or are both NaN.
func same64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}
