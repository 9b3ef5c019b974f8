package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestMaxPoolWindows checks maxPool, forward and gradient, against a
// window-by-window reference on inputs with many ties (small integers) and
// some NaNs, over planes enough to be shared among goroutines: the
// maximum, the position that gets the gradient (the first maximum in
// reading order, or the first NaN) and the padding, which never wins.
func TestMaxPoolWindows(t *testing.T) {
	if !maxPoolVec {
		t.Log("no AVX2 or AVX-512 pooling in this build or on this CPU: checking the Go loops only")
	}
	defer func(v bool) { maxPoolAVX512 = v }(maxPoolAVX512)
	for _, wide := range []bool{true, false} {
		if wide && !maxPoolAVX512 {
			t.Log("no AVX-512 pooling in this build or on this CPU: checking the AVX2 code (or the Go loops) only")
			continue
		}
		maxPoolAVX512 = wide
		t.Run(fmt.Sprintf("avx512_%v", wide), func(t *testing.T) { testMaxPoolWindows(t) })
	}
}

func testMaxPoolWindows(t *testing.T) {
	for _, c := range []struct{ n, c, h, w, k, s, p int }{{4, 16, 17, 16, 3, 2, 1}, {2, 8, 9, 12, 2, 2, 0}, {3, 5, 7, 7, 3, 1, 1}, {1, 40, 6, 5, 3, 2, 1}, {2, 3, 40, 37, 3, 2, 1}, {1, 2, 9, 64, 3, 2, 1}, {1, 2, 3, 1, 3, 2, 1}} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d_k%d_s%d_p%d", c.n, c.c, c.h, c.w, c.k, c.s, c.p), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.h), uint64(c.c)))
			o := newMaxPoolOp(c.k, c.s, c.p)
			s := tensor.Shape{c.n, c.c, c.h, c.w}
			oh, ow := o.out(c.h, c.w)
			x := make([]float32, s.TotalSize())
			for i := range x {
				x[i] = float32(rng.IntN(5) - 3)
				switch rng.IntN(200) {
				case 0:
					x[i] = float32(math.NaN())
				case 1:
					x[i] = -float32(math.NaN()) // which NaN wins shows in its bits
				case 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21:
					x[i] = float32(math.Copysign(0, -1)) // ties of -0 and +0: the first wins
				}
			}
			dy := randF32(rng, c.n*c.c*oh*ow)
			y, dx := make([]float32, len(dy)), make([]float32, len(x))
			maxPool(o, s, x, y, nil, nil)
			maxPool(o, s, x, nil, dy, dx)
			wantY, wantDx := make([]float32, len(dy)), make([]float32, len(x))
			for nc := range c.n * c.c {
				for i := range oh {
					for j := range ow {
						at := -1
						for r := i*c.s - c.p; r < i*c.s-c.p+c.k; r++ {
							for q := j*c.s - c.p; q < j*c.s-c.p+c.k; q++ {
								if r < 0 || r >= c.h || q < 0 || q >= c.w {
									continue
								}
								v, cur := x[nc*c.h*c.w+r*c.w+q], float32(0)
								if at >= 0 {
									cur = x[at]
								}
								if at < 0 || (!isNaN32(cur) && (isNaN32(v) || v > cur)) {
									at = nc*c.h*c.w + r*c.w + q
								}
							}
						}
						k := (nc*oh+i)*ow + j
						wantY[k] = x[at]
						wantDx[at] += dy[k]
					}
				}
			}
			same(t, "forward", y, wantY)
			same(t, "gradient", dx, wantDx)
		})
	}
}

func isNaN32(v float32) bool { return v != v }
