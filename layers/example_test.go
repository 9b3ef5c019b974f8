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

// The end of a residual block: a 1x1 convolution that doubles each pixel,
// BatchNorm with its defaults (the identity, up to Eps), the residual
// added and a ReLU, as one op in an inference graph.
func ExampleConvBNAddReLU() {
	conv := layers.NewConv2D("conv", 1, 1, 1, 1, 0)
	conv.Weight.Float32s()[0] = 2
	bn := layers.NewBatchNorm("bn", 1)
	g := layers.NewGraph(layers.Inference, 1)
	x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 1, 1, 4), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(1, 1, 1, 4), tensor.WithBacking([]float32{1, 2, -3, 0.5}))))
	res := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 1, 1, 4), G.WithName("res"), G.WithValue(tensor.New(tensor.WithShape(1, 1, 1, 4), tensor.WithBacking([]float32{1, -5, 4, 0}))))
	y, err := layers.ConvBNAddReLU(g, conv, bn, x, res)
	if err != nil {
		panic(err)
	}
	var v G.Value
	G.Read(y, &v)
	vm := layers.NewTapeMachine(g)
	defer vm.Close()
	if err := layers.Run(vm); err != nil {
		panic(err)
	}
	for _, f := range v.Data().([]float32) {
		fmt.Printf("%.3f ", f)
	}
	fmt.Println()
	// Output: 3.000 0.000 0.000 1.000
}
