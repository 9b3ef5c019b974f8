package layers

import (
	"errors"
	"github.com/chewxy/hm"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reluOp is max(x, 0) for a tensor of any rank. Its gradient passes dy where
// the output is positive (at exactly 0 the gradient is 0, as in PyTorch).
type reluOp struct {
	opBase
	dims int
}

func newReluOp(dims int) *reluOp {
	return &reluOp{opBase: opBase{Name: "ReLU", N: 1}, dims: dims}
}

func (o *reluOp) Type() hm.Type { return fnType(o.dims, o.dims) }

func (o *reluOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *reluOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 1)
	if err != nil {
		return nil, err
	}
	out := newDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		reluKernel(data[float32](in[0]), data[float32](out))
	default:
		reluKernel(data[float64](in[0]), data[float64](out))
	}
	return out, nil
}

func reluKernel[T float](x, y []T) {
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

func (o *reluOp) DiffWRT(int) []bool { return []bool{true} }

func (o *reluOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&reluGradOp{opBase{Name: "ReLUGrad", N: 2}, o.dims}, out, grad)
	return G.Nodes{dx}, err
}

// reluGradOp takes (y, dy) and returns dy where y > 0, else 0.
type reluGradOp struct {
	opBase
	dims int
}

func (o *reluGradOp) Type() hm.Type { return fnType(o.dims, o.dims, o.dims) }

func (o *reluGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *reluGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	out := newDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		reluGradKernel(data[float32](in[0]), data[float32](in[1]), data[float32](out))
	default:
		reluGradKernel(data[float64](in[0]), data[float64](in[1]), data[float64](out))
	}
	return out, nil
}

func reluGradKernel[T float](y, dy, dx []T) {
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		}
	}
}

func (o *reluGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *reluGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: ReLU has no second derivative")
}

// ReLU applies max(x, 0) element-wise.
func ReLU(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(newReluOp(x.Dims()), x)
}
