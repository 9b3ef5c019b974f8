package layers_test

import (
	"fmt"

	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// One Dense layer attached twice to a graph (two towers) owns one weight
// node; L1 compares the two outputs element-wise. In an inference graph the
// Dropout between them is the identity.
func ExampleDense_Forward() {
	fc := layers.NewDense("fc", 2, 2)
	copy(fc.Weight.Float32s(), []float32{1, 0, 0, 2}) // y = (x0, 2*x1) + bias
	g := layers.NewGraph(layers.Inference, 1)
	a := G.NewMatrix(g.G, tensor.Float32, G.WithShape(1, 2), G.WithName("a"), G.WithValue(tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, 1}))))
	b := G.NewMatrix(g.G, tensor.Float32, G.WithShape(1, 2), G.WithName("b"), G.WithValue(tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{3, 0}))))
	tower := func(x *G.Node) *G.Node {
		y, err := fc.Forward(g, x)
		if err != nil {
			panic(err)
		}
		if y, err = (layers.Dropout{P: 0.5}).Forward(g, y); err != nil {
			panic(err)
		}
		return y
	}
	d, err := layers.L1(tower(a), tower(b))
	if err != nil {
		panic(err)
	}
	var v G.Value
	G.Read(d, &v)
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		panic(err)
	}
	nodes, _ := g.Learnables()
	fmt.Println(v.Data(), len(nodes))
	// Output: [2 2] 2
}
