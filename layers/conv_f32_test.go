package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// Larger convolutions than convCases, in the shapes a ResNet has (channel
// counts that are multiples of 16, and some that are not, so that a
// backend's blocked layouts are padded), for the float32 kernels.
var convCases32 = []convCase{
	{2, 16, 9, 32, 3, 1, 1, 1, 9, 10},
	{3, 32, 8, 16, 1, 2, 0, 1, 4, 5},
	{2, 64, 7, 64, 1, 1, 0, 1, 7, 8},
	{1, 64, 6, 32, 1, 1, 0, 1, 6, 7},
	{1, 3, 17, 16, 7, 2, 3, 1, 9, 9},
	{2, 20, 9, 24, 3, 2, 1, 1, 5, 5},
	{2, 16, 10, 16, 3, 1, 2, 2, 10, 11},
}

func (c convCase) geom() convGeom {
	return convGeom{kh: c.k, kw: c.k, sh: c.stride, sw: c.stride, ph: c.pad, pw: c.pad, dh: c.dil, dw: c.dil}
}

func f32s(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

// close32 fails t when got differs from want by more than float32
// rounding over sums of k products explains.
func close32(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); !(d <= 1e-4*(1+math.Abs(w))) {
			t.Fatalf("%s: element %d: %g, want %g", what, i, got[i], w)
		}
	}
}

// TestConv32 checks the build's float32 convolution (forward, both
// gradients and the fused BatchNorm+ReLU epilogue) against the float64 Go
// path, which the gradient checks cover.
func TestConv32(t *testing.T) {
	for _, c := range append(append([]convCase(nil), convCases...), convCases32...) {
		t.Run(c.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(61, 62))
			g := c.geom()
			xd, wd := randDense(rng, c.n, c.c, c.h, c.h+1), randDense(rng, c.f, c.c, c.k, c.k)
			xs := xd.Shape()
			ys := tensor.Shape{c.n, c.f, c.oh, c.ow}
			if oh, ow := g.out(xs[2], xs[3]); oh != c.oh || ow != c.ow {
				t.Fatalf("output %dx%d, want %dx%d", oh, ow, c.oh, c.ow)
			}
			// inputs rounded to float32, so that only the arithmetic differs
			x, w := toF64(toF32(xd)), toF64(toF32(wd))
			dy := toF64(toF32(randDense(rng, ys...)))
			x32, w32, dy32 := f32s(x), f32s(w), f32s(dy)

			y := make([]float64, ys.TotalSize())
			convForward(g, xs, ys, x, w, y, nil, nil)
			y32 := make([]float32, len(y))
			if err := convForward32(g, xs, ys, x32, w32, y32, nil, nil); err != nil {
				t.Fatal(err)
			}
			close32(t, "forward", y32, y)

			for which, n := range []int{len(x), len(w)} {
				d := make([]float64, n)
				convBackward(g, which, xs, ys, x, w, dy, d)
				d32 := make([]float32, n)
				if err := convBackward32(g, which, xs, ys, x32, w32, dy32, d32); err != nil {
					t.Fatal(err)
				}
				close32(t, []string{"gradient x", "gradient w"}[which], d32, d)
			}

			for _, relu := range []bool{false, true} {
				e := &epilogue[float64]{scale: make([]float64, c.f), shift: make([]float64, c.f), relu: relu}
				for i := range c.f {
					e.scale[i] = float64(float32(0.5 + rng.Float64()))
					e.shift[i] = float64(float32(rng.Float64() - 0.5))
				}
				e32 := &epilogue[float32]{scale: f32s(e.scale), shift: f32s(e.shift), relu: relu}
				convForward(g, xs, ys, x, w, y, e, nil)
				if err := convForward32(g, xs, ys, x32, w32, y32, e32, nil); err != nil {
					t.Fatal(err)
				}
				close32(t, "forward+BatchNorm", y32, y)
			}
		})
	}
}

// TestConv32Repeats checks that the float32 convolution gives the same
// bits when run again, as deterministic training needs.
func TestConv32Repeats(t *testing.T) {
	for _, c := range convCases32 {
		rng := rand.New(rand.NewPCG(63, 64))
		g := c.geom()
		xs := tensor.Shape{c.n, c.c, c.h, c.h + 1}
		ys := tensor.Shape{c.n, c.f, c.oh, c.ow}
		x := f32s(randDense(rng, xs...).Data().([]float64))
		w := f32s(randDense(rng, c.f, c.c, c.k, c.k).Data().([]float64))
		dy := f32s(randDense(rng, ys...).Data().([]float64))
		run := func() [][]float32 {
			y, dx, dw := make([]float32, ys.TotalSize()), make([]float32, len(x)), make([]float32, len(w))
			for _, err := range []error{
				convForward32(g, xs, ys, x, w, y, nil, nil),
				convBackward32(g, 0, xs, ys, x, w, dy, dx),
				convBackward32(g, 1, xs, ys, x, w, dy, dw),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			return [][]float32{y, dx, dw}
		}
		a, b := run(), run()
		for k := range a {
			for i := range a[k] {
				if math.Float32bits(a[k][i]) != math.Float32bits(b[k][i]) {
					t.Fatalf("%v: output %d element %d: %g, then %g", c, k, i, a[k][i], b[k][i])
				}
			}
		}
	}
}
