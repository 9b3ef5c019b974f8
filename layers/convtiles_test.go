package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestConvTiles checks, on every assembly kernel the CPU can run, that the
// tile path (packing straight from the images, output written in NCHW
// order, epilogue fused) gives bit for bit what im2col, the same kernel and
// a separate transpose and epilogue give, forward and for both gradients,
// and that both are close to float64.
func TestConvTiles(t *testing.T) {
	shapes := []struct {
		n, c, h, w, f int
		g             convGeom
	}{
		{2, 32, 9, 9, 24, convGeom{kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1}},  // K = 288: two kc blocks
		{3, 40, 8, 8, 16, convGeom{kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1}},                // direct, P = 64
		{5, 24, 4, 4, 72, convGeom{kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1}},                // direct, P = 16: tiles span images
		{4, 16, 9, 7, 33, convGeom{kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1}},                // downsampling 1x1
		{2, 3, 23, 21, 10, convGeom{kh: 7, kw: 7, sh: 2, sw: 2, ph: 3, pw: 3, dh: 1, dw: 1}}, // the stem
		{1, 8, 10, 10, 17, convGeom{kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1}},
		{2, 6, 11, 9, 9, convGeom{kh: 3, kw: 3, sh: 1, sw: 1, ph: 2, pw: 2, dh: 2, dw: 2}},
		// the gradient for x through the flipped weights (gradByFlip)
		{4, 16, 12, 11, 20, convGeom{kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1}},
		{6, 6, 11, 9, 9, convGeom{kh: 3, kw: 3, sh: 1, sw: 1, ph: 2, pw: 2, dh: 2, dw: 2}},
		{5, 5, 13, 12, 7, convGeom{kh: 5, kw: 3, sh: 1, sw: 1, ph: 1, pw: 0, dh: 1, dw: 1}},
	}
	for _, mk := range asmKernels {
		t.Run(mk.name, func(t *testing.T) {
			if !mk.usable {
				t.Skipf("the CPU lacks the instructions of the %s kernel", mk.name)
			}
			defer func(k *microKernel, s gemmFunc[float32]) { convKernel, sgemm, convTiles = k, s, true }(convKernel, sgemm)
			convKernel, sgemm = mk, splitGemm(blockedSgemm(mk), mk.mr, mk.nr)
			for _, s := range shapes {
				t.Run(fmt.Sprintf("n%d_c%d_%dx%d_f%d_%s", s.n, s.c, s.h, s.w, s.f, s.g.desc()), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(s.c), uint64(s.f)))
					oh, ow := s.g.out(s.h, s.w)
					xs, ys := tensor.Shape{s.n, s.c, s.h, s.w}, tensor.Shape{s.n, s.f, oh, ow}
					x, wt, dy := randF32(rng, xs.TotalSize()), randF32(rng, s.f*s.c*s.g.kh*s.g.kw), randF32(rng, ys.TotalSize())
					epi := &epilogue[float32]{scale: randF32(rng, s.f), shift: randF32(rng, s.f), relu: true}
					// a residual connection, and no ReLU
					epiRes := &epilogue[float32]{scale: randF32(rng, s.f), shift: randF32(rng, s.f), res: randF32(rng, ys.TotalSize())}
					for _, e := range []*epilogue[float32]{nil, epi, epiRes} {
						run := func(tiles bool) []float32 {
							convTiles = tiles
							y := make([]float32, ys.TotalSize())
							convForward(s.g, xs, ys, x, wt, y, e, nil)
							return y
						}
						same(t, fmt.Sprintf("forward (epilogue %v, residual %v)", e != nil, e != nil && e.res != nil), run(true), run(false))
					}
					for which, size := range []int{xs.TotalSize(), len(wt)} {
						run := func(tiles bool) []float32 {
							convTiles = tiles
							out := make([]float32, size)
							convBackward(s.g, which, xs, ys, x, wt, dy, out)
							return out
						}
						got := run(true)
						if which == 0 && s.g.gradByFlip(s.n, oh, ow) {
							// the gradient is a convolution of dy with
							// the flipped weights: bit for bit what the
							// im2col path gives for that convolution
							same(t, "gradient 0", got, flippedGradX(s.g, xs, ys, wt, dy))
						} else {
							same(t, fmt.Sprintf("gradient %d", which), got, run(false))
						}
						want := make([]float64, size)
						convBackward(s.g, which, xs, ys, f64(x), f64(wt), f64(dy), want)
						for i, v := range want {
							if math.Abs(float64(got[i])-v) > 1e-4*(1+math.Abs(v)) {
								t.Fatalf("gradient %d: element %d = %g, float64 %g", which, i, got[i], v)
							}
						}
					}
					y := make([]float32, ys.TotalSize())
					convForward(s.g, xs, ys, x, wt, y, nil, nil)
					want, _ := naiveConv(s.g, xs, tensor.Shape{s.f, s.c, s.g.kh, s.g.kw}, f64(x), f64(wt), oh, ow)
					for i, v := range want {
						if math.Abs(float64(y[i])-v) > 1e-4*(1+math.Abs(v)) {
							t.Fatalf("forward: element %d = %g, naive %g", i, y[i], v)
						}
					}
				})
			}
		})
	}
}

// flippedGradX computes the gradient for x of a stride-1 convolution the
// way convTilesGradXFlipped defines it, on the im2col path: dy convolved
// with the weights flipped in space, their channel axes swapped.
func flippedGradX(g convGeom, xs, ys tensor.Shape, wt, dy []float32) []float32 {
	defer func(v bool) { convTiles = v }(convTiles)
	convTiles = false
	c, f, kk := xs[1], ys[1], g.kh*g.kw
	flip := make([]float32, len(wt))
	for fi := range f {
		for ci := range c {
			for k := range kk {
				flip[(ci*f+fi)*kk+kk-1-k] = wt[(fi*c+ci)*kk+k]
			}
		}
	}
	dx := make([]float32, xs.TotalSize())
	convForward(g.flipped(), ys, xs, dy, flip, dx, nil, nil)
	return dx
}

func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d: %g, want %g (bit for bit)", what, i, got[i], want[i])
		}
	}
}

func randF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func f64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}
