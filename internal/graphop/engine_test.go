package graphop

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestEngineAdd checks Engine's float32 addition against the standard
// engine's, bit for bit, in place (unsafe), into a reuse tensor, and that
// the safe, incrementing and small cases are left to the standard engine.
func TestEngineAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(n int) *tensor.Dense {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(rng.IntN(10)-5)))
		}
		return tensor.New(tensor.WithShape(n/8, 8), tensor.WithBacking(d), tensor.WithEngine(Engine))
	}
	for _, n := range []int{8, parAddMin, parAddMin + 24, 5 * parAddMin} {
		a, b := mk(n), mk(n)
		want, err := tensor.StdEng{}.Add(a, b)
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, got tensor.Tensor, into *tensor.Dense) {
			t.Helper()
			if into != nil && &got.Data().([]float32)[0] != &into.Data().([]float32)[0] {
				t.Fatalf("n %d, %s: the sum is not in the tensor it should overwrite", n, what)
			}
			w, g := want.Data().([]float32), got.Data().([]float32)
			for i := range w {
				if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
					t.Fatalf("n %d, %s: element %d = %g, the standard engine %g", n, what, i, g[i], w[i])
				}
			}
		}
		reuse := mk(n)
		got, err := tensor.Add(a, b, tensor.WithReuse(reuse))
		if err != nil {
			t.Fatal(err)
		}
		check("reuse", got, reuse)
		got, err = tensor.Add(a, b)
		if err != nil {
			t.Fatal(err)
		}
		check("safe", got, nil)
		if &got.Data().([]float32)[0] == &a.Data().([]float32)[0] {
			t.Fatalf("n %d: a safe addition overwrote its operand", n)
		}
		if r := parallelAdd(a, b, []tensor.FuncOpt{tensor.WithIncr(reuse)}); r != nil {
			t.Fatalf("n %d: an incrementing addition was taken", n)
		}
		a3 := mk(n)
		if r := parallelAdd(a3, b, []tensor.FuncOpt{tensor.UseUnsafe()}); (r != nil) != (n >= parAddMin) {
			t.Fatalf("n %d: shared out %v, want %v", n, r != nil, n >= parAddMin)
		}
		a2 := mk(n)
		copy(a2.Data().([]float32), a.Data().([]float32))
		got, err = tensor.Add(a2, b, tensor.UseUnsafe())
		if err != nil {
			t.Fatal(err)
		}
		check("unsafe", got, a2)
	}
}
