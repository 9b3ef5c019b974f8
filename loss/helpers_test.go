package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// input returns an input node of g holding vals with the given shape, in
// dtype dt (vals are converted).
func input(g *G.ExprGraph, dt tensor.Dtype, name string, vals []float64, shape ...int) *G.Node {
	var back any = vals
	if dt == tensor.Float32 {
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		back = f
	} else {
		back = append([]float64(nil), vals...)
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(back))
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

// floats returns the elements of a scalar or tensor value as float64.
func floats(t testing.TB, v G.Value) []float64 {
	t.Helper()
	switch x := v.Data().(type) {
	case float64:
		return []float64{x}
	case float32:
		return []float64{float64(x)}
	case []float64:
		return append([]float64(nil), x...)
	case []float32:
		r := make([]float64, len(x))
		for i, f := range x {
			r[i] = float64(f)
		}
		return r
	}
	t.Fatalf("value of type %T", v.Data())
	return nil
}

// eval runs g once and returns the value of y and, when wrt is not empty,
// the gradients of the scalar y with respect to wrt.
func eval(t testing.TB, g *G.ExprGraph, y *G.Node, wrt ...*G.Node) (vals []float64, grads [][]float64) {
	t.Helper()
	var gs G.Nodes
	if len(wrt) > 0 {
		var err error
		if gs, err = G.Grad(y, wrt...); err != nil {
			t.Fatal(err)
		}
	}
	var yv G.Value
	G.Read(y, &yv)
	gvs := make([]G.Value, len(gs))
	for i := range gs {
		G.Read(gs[i], &gvs[i])
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, v := range gvs {
		grads = append(grads, floats(t, v))
	}
	return floats(t, yv), grads
}

// near reports whether got is within rel relative and abs absolute error
// of want (and neither is NaN).
func near(got, want, rel, abs float64) bool {
	return !math.IsNaN(got) && !math.IsNaN(want) && math.Abs(got-want) <= abs+rel*math.Abs(want)
}

// uniform returns n values from U(lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return v
}

// wantErr fails unless err is a "loss: " error.
func wantErr(t *testing.T, what string, n *G.Node, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, got node %v", what, n)
		return
	}
	if len(err.Error()) < 6 || err.Error()[:6] != "loss: " {
		t.Errorf("%s: error %q lacks the prefix \"loss: \"", what, err)
	}
}
