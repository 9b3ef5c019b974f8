package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/internal/gradcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestSoftmaxCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ys, err := OneHot([]int{0, 3, 2, 4}, 5, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	yv := make([]float64, len(ys))
	for i, v := range ys {
		yv[i] = float64(v)
	}
	g := G.NewGraph()
	z := input(g, tensor.Float64, "z", uniform(rng, 20, -5, 5), 4, 5)
	y := input(g, tensor.Float64, "y", yv, 4, 5)
	l, err := SoftmaxCrossEntropy(z, y)
	if err != nil {
		t.Fatal(err)
	}
	gradcheck.Check(t, g, G.Nodes{z}, l, nil)
}

// Against the textbook -Σ y·log softmax(z), and finite for huge logits.
func TestSoftmaxCrossEntropyTextbook(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	zs := uniform(rng, 12, -6, 6)
	ys, _ := OneHot([]int{1, 0, 3}, 4, 0)
	yv := make([]float64, len(ys))
	for i, v := range ys {
		yv[i] = float64(v)
	}
	g := G.NewGraph()
	z := input(g, tensor.Float64, "z", zs, 3, 4)
	y := input(g, tensor.Float64, "y", yv, 3, 4)
	l, err := SoftmaxCrossEntropy(z, y)
	if err != nil {
		t.Fatal(err)
	}
	got, grads := eval(t, g, l, z)
	var want float64
	for r := range 3 {
		var sum float64
		for i := range 4 {
			sum += math.Exp(zs[r*4+i])
		}
		for i := range 4 {
			p := math.Exp(zs[r*4+i]) / sum
			want -= yv[r*4+i] * math.Log(p)
			if w := (p - yv[r*4+i]) / 3; !near(grads[0][r*4+i], w, 1e-12, 1e-15) {
				t.Errorf("gradient [%d,%d]: got %v, want %v", r, i, grads[0][r*4+i], w)
			}
		}
	}
	if want /= 3; !near(got[0], want, 1e-12, 0) {
		t.Errorf("loss: got %v, want %v", got[0], want)
	}

	// float32 logits of 1e4 would overflow exp without the row maximum.
	g = G.NewGraph()
	z = input(g, tensor.Float32, "z", []float64{1e4, 0, -1e4, 0}, 2, 2)
	y = input(g, tensor.Float32, "y", []float64{0, 1, 1, 0}, 2, 2)
	if l, err = SoftmaxCrossEntropy(z, y); err != nil {
		t.Fatal(err)
	}
	got, _ = eval(t, g, l)
	if want := 1e4; !near(got[0], want, 1e-6, 0) {
		t.Errorf("large logits: loss %v, want %v", got[0], want)
	}
}

func TestSoftmaxCrossEntropyErrors(t *testing.T) {
	g := G.NewGraph()
	z := input(g, tensor.Float64, "z", make([]float64, 6), 2, 3)
	y := input(g, tensor.Float64, "y", make([]float64, 6), 3, 2)
	if _, err := SoftmaxCrossEntropy(z, y); err == nil {
		t.Error("shapes (2,3) and (3,2) accepted")
	}
	v := input(g, tensor.Float64, "v", make([]float64, 6), 6)
	if _, err := SoftmaxCrossEntropy(v, v); err == nil {
		t.Error("a vector accepted as logits")
	}
	if _, err := OneHot([]int{3}, 3, 0); err == nil {
		t.Error("class 3 of 3 accepted")
	}
	if _, err := OneHot([]int{0}, 3, 1); err == nil {
		t.Error("smoothing 1 accepted")
	}
	h, _ := OneHot([]int{2}, 4, 0.2)
	if want := []float32{0.05, 0.05, 0.85, 0.05}; !near(float64(h[2]), float64(want[2]), 1e-6, 0) || !near(float64(h[0]), 0.05, 1e-6, 0) {
		t.Errorf("OneHot smoothing 0.2: %v, want %v", h, want)
	}
}
