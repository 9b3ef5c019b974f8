// Package gradcheck compares the symbolic gradients of Gorgonia graphs with
// central differences. It is used by the tests of every package that
// defines an op with a gradient of its own.
package gradcheck

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Rand returns a float64 tensor of the given shape with values from
// U(-1, 1).
func Rand(rng *rand.Rand, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	v := d.Data().([]float64)
	for i := range v {
		v[i] = 2*rng.Float64() - 1
	}
	return d
}

// Check adds loss = sum(y ⊙ r), r random, to g and compares the gradient
// of the loss with respect to each of xs (float64 input nodes with values)
// with central differences over up to 40 elements of each. y may be a
// scalar. beforeRun, if not nil, runs before every evaluation (to replay a
// random mask).
func Check(t testing.TB, g *G.ExprGraph, xs G.Nodes, y *G.Node, beforeRun func()) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	loss := y
	if !y.IsScalar() {
		r := G.NodeFromAny(g, Rand(rng, y.Shape()...), G.WithName("gradcheck.r"))
		prod, err := G.HadamardProd(y, r)
		if err != nil {
			t.Fatal(err)
		}
		if loss, err = G.Sum(prod); err != nil {
			t.Fatal(err)
		}
	}
	grads, err := G.Grad(loss, xs...)
	if err != nil {
		t.Fatal(err)
	}
	var lossV G.Value
	G.Read(loss, &lossV)
	gradVs := make([]G.Value, len(grads))
	for i := range grads {
		G.Read(grads[i], &gradVs[i])
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	run := func() float64 {
		if beforeRun != nil {
			beforeRun()
		}
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return lossV.Data().(float64)
	}
	run()
	analytic := make([][]float64, len(grads))
	for i, v := range gradVs {
		analytic[i] = append([]float64(nil), v.(*tensor.Dense).Data().([]float64)...)
	}
	const h = 1e-6
	for i, xn := range xs {
		x := xn.Value().(*tensor.Dense).Data().([]float64)
		idx := rng.Perm(len(x))
		if len(idx) > 40 {
			idx = idx[:40]
		}
		for _, j := range idx {
			orig := x[j]
			x[j] = orig + h
			lp := run()
			x[j] = orig - h
			lm := run()
			x[j] = orig
			num := (lp - lm) / (2 * h)
			if a := analytic[i][j]; math.Abs(a-num) > 1e-6+1e-5*math.Abs(num) || math.IsNaN(a) {
				t.Errorf("input %d (%s) element %d: analytic gradient %.9g, numeric %.9g", i, xn.Name(), j, a, num)
			}
		}
	}
}
