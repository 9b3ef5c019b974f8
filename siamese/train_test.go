package siamese

import (
	"image"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/loss"
	"github.com/gosiamese/gosiamese/preprocess"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestLabelConvention trains a small model with binary cross-entropy on
// label 1 for identical pairs and 0 for different ones; afterwards the
// identical pairs score above 0.5 and the different ones below. With the
// labels read the other way round the test fails.
func TestLabelConvention(t *testing.T) {
	if testing.Short() {
		t.Skip("training skipped in -short mode")
	}
	m := tinyModel(t, func(c *Config) { c.Dropout = -1 })
	imgs := []image.Image{noise(1, 32, 32), noise(2, 32, 32), noise(3, 32, 32), noise(4, 32, 32)}
	all, err := preprocess.Batch(imgs, m.Config().Input)
	if err != nil {
		t.Fatal(err)
	}
	per := 3 * 32 * 32
	var av, bv, labels []float32
	for i := range 4 {
		// (i, i) is the same image, (i, i+1) a different one.
		av = append(av, all[i*per:(i+1)*per]...)
		bv = append(bv, all[i*per:(i+1)*per]...)
		labels = append(labels, 1)
		av = append(av, all[i*per:(i+1)*per]...)
		bv = append(bv, all[(i+1)%4*per:((i+1)%4+1)*per]...)
		labels = append(labels, 0)
	}
	g := layers.NewGraph(layers.Training, 1)
	a := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(8, 3, 32, 32), tensor.WithBacking(av)), G.WithName("a"))
	b := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(8, 3, 32, 32), tensor.WithBacking(bv)), G.WithName("b"))
	y := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(8, 1), tensor.WithBacking(labels)), G.WithName("labels"))
	logits, err := m.Network().PairLogits(g, a, b)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := loss.BCEWithLogits(logits, y)
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := g.Learnables()
	if _, err := G.Grad(cost, nodes...); err != nil {
		t.Fatal(err)
	}
	var lv G.Value
	G.Read(cost, &lv)
	vm := G.NewTapeMachine(g.G, G.BindDualValues(nodes...))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(1e-2))
	var first, last float32
	for step := range 40 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := m.Network().ChangeParams(func() error { return solver.Step(G.NodesToValueGrads(nodes)) }); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = lv.Data().(float32)
		}
		last = lv.Data().(float32)
	}
	if !(last < first/2) {
		t.Fatalf("loss went from %g to %g", first, last)
	}
	for i := range 4 {
		same, _ := m.Compare(imgs[i], imgs[i])
		diff, _ := m.Compare(imgs[i], imgs[(i+1)%4])
		if !m.Same(same) || m.Same(diff) {
			t.Errorf("pair %d: identical %.3f, different %.3f; want the first >= 0.5 > the second", i, same, diff)
		}
	}
}
