package loss_test

import (
	"fmt"

	"github.com/gosiamese/gosiamese/loss"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Two pairs of 2-D embeddings: the first pair is 0.5 apart and labelled
// different (0), the second identical and labelled same (1). With margin 1
// the first pays ½(1 - 0.5)² = 0.125 and the second nothing, so the mean
// contrastive loss is 0.0625. Its gradient for a[0] is
// -(1 - 0.5)/2 · (a[0] - b[0])/0.5 = (0.15, 0.2): a descent step moves a[0]
// away from b[0].
func Example() {
	g := G.NewGraph()
	mat := func(name string, v ...float64) *G.Node {
		return G.NewMatrix(g, tensor.Float64, G.WithShape(2, 2), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(v))))
	}
	a := mat("a", 0, 0, 1, 1)
	b := mat("b", 0.3, 0.4, 1, 1)
	labels := G.NewVector(g, tensor.Float64, G.WithShape(2), G.WithName("labels"),
		G.WithValue(tensor.New(tensor.WithBacking([]float64{0, 1}))))

	dist, err := loss.EuclideanDistance(a, b)
	if err != nil {
		panic(err)
	}
	l, err := loss.Contrastive(dist, labels, 1)
	if err != nil {
		panic(err)
	}
	grads, err := G.Grad(l, a)
	if err != nil {
		panic(err)
	}
	var lv, dv, gv G.Value
	G.Read(l, &lv)
	G.Read(dist, &dv)
	G.Read(grads[0], &gv)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		panic(err)
	}
	d := dv.Data().([]float64)
	da := gv.Data().([]float64)
	fmt.Printf("distances %.4f %.4f\n", d[0], d[1])
	fmt.Printf("loss %.4f\n", lv.Data())
	fmt.Printf("d loss/d a[0] = (%.3f, %.3f)\n", da[0], da[1])
	// Output:
	// distances 0.5000 0.0000
	// loss 0.0625
	// d loss/d a[0] = (0.150, 0.200)
}

// A batch of three 2-D embeddings, two of class 0 one unit apart, one of
// class 1 at distance 1.5 from the first and sqrt(3.25) ≈ 1.803 from the
// second. Batch-hard triplet loss with margin 1: the first anchor pays
// 1 - 1.5 + 1 = 0.5, the second 1 - 1.803 + 1 = 0.197, the third has no
// positive: mean 0.349. Contrastive loss of all pairs with margin 2: the
// same pair pays ½·1², the others ½(2 - 1.5)² and ½(2 - 1.803)²: mean
// 0.215.
func ExampleContrastiveBatch() {
	g := G.NewGraph()
	emb := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 2), G.WithName("emb"),
		G.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{0, 0, 0, 1, 1.5, 0}))))
	classes := G.NewVector(g, tensor.Float64, G.WithShape(3), G.WithName("classes"),
		G.WithValue(tensor.New(tensor.WithBacking([]float64{0, 0, 1}))))
	hard, err := loss.Triplet(emb, classes, 1, loss.BatchHard)
	if err != nil {
		panic(err)
	}
	pairs, err := loss.ContrastiveBatch(emb, classes, 2)
	if err != nil {
		panic(err)
	}
	var hv, pv G.Value
	G.Read(hard, &hv)
	G.Read(pairs, &pv)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		panic(err)
	}
	fmt.Printf("batch-hard triplet %.3f\n", hv.Data())
	fmt.Printf("contrastive, all pairs %.3f\n", pv.Data())
	// Output:
	// batch-hard triplet 0.349
	// contrastive, all pairs 0.215
}
