package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/internal/gradcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestBCEWithLogitsGrad(t *testing.T) {
	for _, shapes := range [][2][]int{{{6}, {6}}, {{6, 1}, {6, 1}}, {{6}, {6, 1}}, {{6, 1}, {6}}} {
		t.Run(fmt.Sprint(shapes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			g := G.NewGraph()
			z := input(g, tensor.Float64, "z", uniform(rng, 6, -4, 4), shapes[0]...)
			y := input(g, tensor.Float64, "y", uniform(rng, 6, 0, 1), shapes[1]...)
			l, err := BCEWithLogits(z, y)
			if err != nil {
				t.Fatal(err)
			}
			gradcheck.Check(t, g, G.Nodes{z}, l, nil)
		})
	}
}

// Against the textbook form -y·log σ(z) - (1-y)·log(1 - σ(z)), safe for
// moderate logits, and its gradient σ(z) - y.
func TestBCEWithLogitsTextbook(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zs, ys := uniform(rng, 10, -6, 6), uniform(rng, 10, 0, 1)
	ys[0], ys[1] = 0, 1
	g := G.NewGraph()
	z := input(g, tensor.Float64, "z", zs, 10)
	y := input(g, tensor.Float64, "y", ys, 10)
	l, err := BCEWithLogits(z, y)
	if err != nil {
		t.Fatal(err)
	}
	got, grads := eval(t, g, l, z)
	var want float64
	for i := range zs {
		s := 1 / (1 + math.Exp(-zs[i]))
		want += -ys[i]*math.Log(s) - (1-ys[i])*math.Log(1-s)
		if w := (s - ys[i]) / 10; !near(grads[0][i], w, 1e-12, 1e-15) {
			t.Errorf("gradient %d: got %v, want %v", i, grads[0][i], w)
		}
	}
	if want /= 10; !near(got[0], want, 1e-12, 0) {
		t.Errorf("loss: got %v, want %v", got[0], want)
	}
}

// refBCE is softplus(z) - y·z in float64, written per sign of z, and
// refSigmoid is σ(z); both avoid overflow.
func refBCE(z, y float64) float64 {
	if z > 0 {
		return (1-y)*z + math.Log1p(math.Exp(-z))
	}
	return -y*z + math.Log1p(math.Exp(z))
}

func refSigmoid(z float64) float64 {
	if z > 0 {
		return 1 / (1 + math.Exp(-z))
	}
	return math.Exp(z) / (1 + math.Exp(z))
}

func TestBCEWithLogitsFloat32Extremes(t *testing.T) {
	zs := []float64{-1e4, -30, -1, 0, 1, 30, 1e4}
	// Known values: a confident right answer costs nothing, a confident
	// wrong one costs |z|.
	known := map[[2]float64]float64{
		{1e4, 0}: 1e4, {1e4, 1}: 0, {-1e4, 0}: 0, {-1e4, 1}: 1e4,
		{0, 0}: math.Ln2, {0, 1}: math.Ln2,
		{30, 0}: 30 + 9.357622968840175e-14, {-30, 1}: 30 + 9.357622968840175e-14,
	}
	var allZ, allY []float64
	for _, zv := range zs {
		for _, yv := range []float64{0, 1} {
			allZ, allY = append(allZ, zv), append(allY, yv)
			g := G.NewGraph()
			z := input(g, tensor.Float32, "z", []float64{zv}, 1)
			y := input(g, tensor.Float32, "y", []float64{yv}, 1)
			l, err := BCEWithLogits(z, y)
			if err != nil {
				t.Fatal(err)
			}
			got, grads := eval(t, g, l, z)
			want := refBCE(zv, yv)
			if k, ok := known[[2]float64{zv, yv}]; ok && !near(want, k, 1e-12, 0) {
				t.Fatalf("reference for z=%v y=%v: %v, known %v", zv, yv, want, k)
			}
			if math.IsInf(got[0], 0) || !near(got[0], want, 1e-6, 1e-30) {
				t.Errorf("z=%v y=%v: loss %v, want %v", zv, yv, got[0], want)
			}
			if wg := refSigmoid(zv) - yv; math.IsInf(grads[0][0], 0) || !near(grads[0][0], wg, 1e-6, 1e-30) {
				t.Errorf("z=%v y=%v: gradient %v, want %v", zv, yv, grads[0][0], wg)
			}
		}
	}
	// All at once, as a (N, 1) batch: the mean and (σ(z) - y)/N.
	n := len(allZ)
	g := G.NewGraph()
	z := input(g, tensor.Float32, "z", allZ, n, 1)
	y := input(g, tensor.Float32, "y", allY, n, 1)
	l, err := BCEWithLogits(z, y)
	if err != nil {
		t.Fatal(err)
	}
	got, grads := eval(t, g, l, z)
	var want float64
	for i := range allZ {
		want += refBCE(allZ[i], allY[i]) / float64(n)
		if wg := (refSigmoid(allZ[i]) - allY[i]) / float64(n); !near(grads[0][i], wg, 1e-6, 1e-30) {
			t.Errorf("batch gradient %d (z=%v y=%v): %v, want %v", i, allZ[i], allY[i], grads[0][i], wg)
		}
	}
	if !near(got[0], want, 1e-6, 0) {
		t.Errorf("batch loss %v, want %v", got[0], want)
	}
}

func TestBCEWithLogitsErrors(t *testing.T) {
	g := G.NewGraph()
	z := input(g, tensor.Float64, "z", make([]float64, 4), 4)
	z2 := input(g, tensor.Float64, "z2", make([]float64, 8), 4, 2)
	y3 := input(g, tensor.Float64, "y3", make([]float64, 3), 3)
	y32 := input(g, tensor.Float32, "y32", make([]float64, 4), 4)
	other := input(G.NewGraph(), tensor.Float64, "o", make([]float64, 4), 4)
	for name, f := range map[string]func() (*G.Node, error){
		"N mismatch":   func() (*G.Node, error) { return BCEWithLogits(z, y3) },
		"(N, 2)":       func() (*G.Node, error) { return BCEWithLogits(z2, z) },
		"nil labels":   func() (*G.Node, error) { return BCEWithLogits(z, nil) },
		"mixed dtypes": func() (*G.Node, error) { return BCEWithLogits(z, y32) },
		"two graphs":   func() (*G.Node, error) { return BCEWithLogits(z, other) },
	} {
		n, err := f()
		wantErr(t, name, n, err)
	}
}
