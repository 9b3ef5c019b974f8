package layers

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// globalPoolOp reduces x of shape (N, C, H, W) to (N, C) by the mean or the
// maximum over H and W. The gradient of the maximum goes to the first
// position holding it.
type globalPoolOp struct {
	opBase
	max bool
}

func newGlobalPoolOp(max bool) *globalPoolOp {
	name := "GlobalAvgPool"
	if max {
		name = "GlobalMaxPool"
	}
	return &globalPoolOp{opBase: opBase{Name: name, N: 1}, max: max}
}

func (o *globalPoolOp) Type() hm.Type { return fnType(2, 4) }

func (o *globalPoolOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	if len(s) != 4 {
		return nil, fmt.Errorf("layers: %s: want a 4-D input, got %v", o.Name, s)
	}
	return tensor.Shape{s[0], s[1]}, nil
}

func (o *globalPoolOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 1)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if s.Dims() != 4 || s[2]*s[3] == 0 {
		return nil, fmt.Errorf("layers: %s: want a non-empty 4-D input, got %v", o.Name, s)
	}
	out := newDense(in[0].Dtype(), tensor.Shape{s[0], s[1]})
	switch in[0].Dtype() {
	case tensor.Float32:
		globalPool(o.max, s[2]*s[3], data[float32](in[0]), data[float32](out))
	default:
		globalPool(o.max, s[2]*s[3], data[float64](in[0]), data[float64](out))
	}
	return out, nil
}

func globalPool[T float](max bool, sp int, x, y []T) {
	for k := range y {
		xs := x[k*sp : (k+1)*sp]
		if max {
			m := xs[0]
			for _, v := range xs[1:] {
				if v > m {
					m = v
				}
			}
			y[k] = m
			continue
		}
		var s float64
		for _, v := range xs {
			s += float64(v)
		}
		y[k] = T(s / float64(sp))
	}
}

func (o *globalPoolOp) DiffWRT(int) []bool { return []bool{true} }

func (o *globalPoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&globalPoolGradOp{opBase{Name: o.Name + "Grad", N: 2}, o.max}, in[0], grad)
	return G.Nodes{dx}, err
}

// globalPoolGradOp takes (x, dy) and spreads dy back over H and W.
type globalPoolGradOp struct {
	opBase
	max bool
}

func (o *globalPoolGradOp) Type() hm.Type { return fnType(4, 4, 2) }

func (o *globalPoolGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *globalPoolGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	out := newDense(in[0].Dtype(), s)
	switch in[0].Dtype() {
	case tensor.Float32:
		globalPoolGrad(o.max, s[2]*s[3], data[float32](in[0]), data[float32](in[1]), data[float32](out))
	default:
		globalPoolGrad(o.max, s[2]*s[3], data[float64](in[0]), data[float64](in[1]), data[float64](out))
	}
	return out, nil
}

func globalPoolGrad[T float](max bool, sp int, x, dy, dx []T) {
	for k, d := range dy {
		xs, ds := x[k*sp:(k+1)*sp], dx[k*sp:(k+1)*sp]
		if max {
			at := 0
			for j, v := range xs {
				if v > xs[at] {
					at = j
				}
			}
			ds[at] = d
			continue
		}
		g := d / T(sp)
		for j := range ds {
			ds[j] = g
		}
	}
}

func (o *globalPoolGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *globalPoolGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: global pooling has no second derivative")
}

// GlobalAvgPool averages x of shape (N, C, H, W) over H and W, giving (N, C).
func GlobalAvgPool(x *G.Node) (*G.Node, error) { return G.ApplyOp(newGlobalPoolOp(false), x) }

// GlobalMaxPool takes the maximum of x of shape (N, C, H, W) over H and W,
// giving (N, C).
func GlobalMaxPool(x *G.Node) (*G.Node, error) { return G.ApplyOp(newGlobalPoolOp(true), x) }
