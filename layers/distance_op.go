package layers

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// absDiffOp is |a - b| element-wise. Its gradient is sign(a-b)*dy for a and
// -sign(a-b)*dy for b, with sign(0) = 0.
type absDiffOp struct {
	opBase
	dims int
}

func (o *absDiffOp) Type() hm.Type { return fnType(o.dims, o.dims, o.dims) }

func (o *absDiffOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return sameShape(o.Name, ds)
}

func (o *absDiffOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := sameDenses(o.Name, vs)
	if err != nil {
		return nil, err
	}
	out := newDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		absDiff(data[float32](in[0]), data[float32](in[1]), data[float32](out))
	default:
		absDiff(data[float64](in[0]), data[float64](in[1]), data[float64](out))
	}
	return out, nil
}

func absDiff[T float](a, b, y []T) {
	for i := range y {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		y[i] = d
	}
}

func (o *absDiffOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *absDiffOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	gs := make(G.Nodes, 2)
	for k, sign := range []float64{1, -1} {
		g, err := G.ApplyOp(&absDiffGradOp{opBase{Name: fmt.Sprintf("AbsDiffGrad%d", k), N: 3}, o.dims, sign}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		gs[k] = g
	}
	return gs, nil
}

// absDiffGradOp takes (a, b, dy) and returns sign*sign(a-b)*dy.
type absDiffGradOp struct {
	opBase
	dims int
	sign float64
}

func (o *absDiffGradOp) Type() hm.Type { return fnType(o.dims, o.dims, o.dims, o.dims) }

func (o *absDiffGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *absDiffGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 3)
	if err != nil {
		return nil, err
	}
	out := newDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		absDiffGrad(o.sign, data[float32](in[0]), data[float32](in[1]), data[float32](in[2]), data[float32](out))
	default:
		absDiffGrad(o.sign, data[float64](in[0]), data[float64](in[1]), data[float64](in[2]), data[float64](out))
	}
	return out, nil
}

func absDiffGrad[T float](sign float64, a, b, dy, dx []T) {
	s := T(sign)
	for i := range dx {
		switch d := a[i] - b[i]; {
		case d > 0:
			dx[i] = s * dy[i]
		case d < 0:
			dx[i] = -s * dy[i]
		}
	}
}

func (o *absDiffGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *absDiffGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: L1 distance has no second derivative")
}

// L1 returns |a - b| element-wise: the component-wise L1 distance of two
// embeddings of the same shape, as the Siamese head's Lambda layer computes
// it in the Keras original. Summing it gives the L1 distance.
func L1(a, b *G.Node) (*G.Node, error) {
	if a.Dims() != b.Dims() {
		return nil, fmt.Errorf("layers: L1: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	return G.ApplyOp(&absDiffOp{opBase{Name: "AbsDiff", N: 2}, a.Dims()}, a, b)
}
