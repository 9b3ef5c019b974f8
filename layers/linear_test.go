package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestLinear32 checks the float32 linear products (forward with bias, and
// the three gradients), which run on the build's kernels, against the
// float64 ones that the gradient checks cover, with output buffers full of
// NaN as a reused buffer may be.
func TestLinear32(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for _, c := range []struct{ n, in, out int }{{1, 7, 3}, {5, 9, 17}, {37, 300, 129}, {64, 512, 100}} {
		x, w, b := toF32(randDense(rng, c.n, c.in)), toF32(randDense(rng, c.out, c.in)), toF32(randDense(rng, c.out))
		dy := toF32(randDense(rng, c.n, c.out))
		x64, w64, b64, dy64 := tensor.New(tensor.WithShape(c.n, c.in), tensor.WithBacking(toF64(x))), tensor.New(tensor.WithShape(c.out, c.in), tensor.WithBacking(toF64(w))), tensor.New(tensor.WithShape(c.out), tensor.WithBacking(toF64(b))), tensor.New(tensor.WithShape(c.n, c.out), tensor.WithBacking(toF64(dy)))
		for _, k := range []struct {
			kind linearKind
			in32 []*tensor.Dense
			in64 []*tensor.Dense
			n    int
		}{
			{linearForwardBias, []*tensor.Dense{x, w, b}, []*tensor.Dense{x64, w64, b64}, c.n * c.out},
			{linearGradX, []*tensor.Dense{dy, w}, []*tensor.Dense{dy64, w64}, c.n * c.in},
			{linearGradW, []*tensor.Dense{dy, x}, []*tensor.Dense{dy64, x64}, c.out * c.in},
			{linearGradB, []*tensor.Dense{dy}, []*tensor.Dense{dy64}, c.out},
		} {
			got, want := make([]float32, k.n), make([]float64, k.n)
			for i := range got {
				got[i], want[i] = float32(math.NaN()), math.NaN()
			}
			linear(k.kind, k.in32, got)
			linear(k.kind, k.in64, want)
			close32(t, linearNames[k.kind], got, want)
		}
	}
}
