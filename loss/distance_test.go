package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/internal/gradcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestEuclideanDistanceValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, d = 4, 3
	av, bv := uniform(rng, n*d, -2, 2), uniform(rng, n*d, -2, 2)
	copy(bv[d:2*d], av[d:2*d]) // row 1: a == b
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		g := G.NewGraph()
		a := input(g, dt, "a", av, n, d)
		b := input(g, dt, "b", bv, n, d)
		y, err := EuclideanDistance(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if !y.Shape().Eq(tensor.Shape{n}) {
			t.Fatalf("shape %v, want (%d)", y.Shape(), n)
		}
		got, _ := eval(t, g, y)
		rel := 1e-14
		if dt == tensor.Float32 {
			rel = 1e-6
		}
		for i := range n {
			var s float64
			for j := range d {
				s += math.Pow(av[i*d+j]-bv[i*d+j], 2)
			}
			if want := math.Sqrt(s + 1e-12); !near(got[i], want, rel, 0) {
				t.Errorf("%v row %d: %v, want %v", dt, i, got[i], want)
			}
		}
		if !near(got[1], 1e-6, rel, 0) {
			t.Errorf("%v: d(a, a) = %v, want sqrt(Eps) = 1e-6", dt, got[1])
		}
	}
}

func TestEuclideanDistanceGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := G.NewGraph()
	a := input(g, tensor.Float64, "a", uniform(rng, 15, -1, 1), 5, 3)
	b := input(g, tensor.Float64, "b", uniform(rng, 15, -1, 1), 5, 3)
	y, err := EuclideanDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	gradcheck.Check(t, g, G.Nodes{a, b}, y, nil)
}

// At a == b the gradient is exactly 0 (not NaN) in both dtypes.
func TestEuclideanDistanceGradAtEqual(t *testing.T) {
	v := []float64{0.5, -1, 2, 0.5, -1, 2}
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		g := G.NewGraph()
		a := input(g, dt, "a", v, 2, 3)
		b := input(g, dt, "b", v, 2, 3)
		y, err := EuclideanDistance(a, b)
		if err != nil {
			t.Fatal(err)
		}
		s, err := G.Sum(y)
		if err != nil {
			t.Fatal(err)
		}
		_, grads := eval(t, g, s, a, b)
		for k, gr := range grads {
			for i, x := range gr {
				if x != 0 {
					t.Errorf("%v: gradient %d element %d is %v, want 0", dt, k, i, x)
				}
			}
		}
	}
}

func TestEuclideanDistanceErrors(t *testing.T) {
	g := G.NewGraph()
	a := input(g, tensor.Float64, "a", make([]float64, 6), 2, 3)
	b := input(g, tensor.Float64, "b", make([]float64, 6), 3, 2)
	v := input(g, tensor.Float64, "v", make([]float64, 6), 6)
	a32 := input(g, tensor.Float32, "a32", make([]float64, 6), 2, 3)
	for name, f := range map[string]func() (*G.Node, error){
		"shapes differ": func() (*G.Node, error) { return EuclideanDistance(a, b) },
		"rank 1":        func() (*G.Node, error) { return EuclideanDistance(v, v) },
		"nil":           func() (*G.Node, error) { return EuclideanDistance(nil, a) },
		"mixed dtypes":  func() (*G.Node, error) { return EuclideanDistance(a, a32) },
	} {
		n, err := f()
		wantErr(t, name, n, err)
	}
}
