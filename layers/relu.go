package layers

import (
	"errors"
	"math"

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
	out := o.NewOutput(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		reluKernel(data[float32](in[0]), data[float32](out))
	default:
		reluKernel(data[float64](in[0]), data[float64](out))
	}
	return out, nil
}

func reluKernel[T float](x, y []T) {
	parallelFor(len(x), 1, func(lo, hi int) {
		copy(y[lo:hi], x[lo:hi])
		reluInPlace(y[lo:hi])
	})
}

func (o *reluOp) DiffWRT(int) []bool { return []bool{true} }

func (o *reluOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.Keep()
	dx, err := G.ApplyOp(&reluGradOp{opBase{Name: "ReLUGrad", N: 2, Out: &kept{}}, o.dims}, out, grad)
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
	out := o.NewOutput(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		reluGradKernel(data[float32](in[0]), data[float32](in[1]), data[float32](out))
	default:
		reluGradKernel(data[float64](in[0]), data[float64](in[1]), data[float64](out))
	}
	return out, nil
}

func reluGradKernel[T float](y, dy, dx []T) {
	parallelFor(len(y), 1, func(lo, hi int) {
		maskPos(y[lo:hi], dy[lo:hi], dx[lo:hi])
	})
}

func (o *reluGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *reluGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: ReLU has no second derivative")
}

// ReLU applies max(x, 0) element-wise.
func ReLU(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(newReluOp(x.Dims()), x)
}

// addReLUOp is max(a+b, 0) for two tensors of one shape (a residual
// connection and its activation, as one pass). The gradient with respect
// to both inputs is dy where the output is positive.
type addReLUOp struct {
	opBase
	dims int
}

func (o *addReLUOp) Type() hm.Type { return fnType(o.dims, o.dims, o.dims) }

func (o *addReLUOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return sameShape(o.Name, ds)
}

func (o *addReLUOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := sameDenses(o.Name, vs)
	if err != nil {
		return nil, err
	}
	out := o.NewOutput(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		addReLUKernel(data[float32](in[0]), data[float32](in[1]), data[float32](out))
	default:
		addReLUKernel(data[float64](in[0]), data[float64](in[1]), data[float64](out))
	}
	return out, nil
}

func addReLUKernel[T float](a, b, y []T) {
	parallelFor(len(a), 1, func(lo, hi int) {
		bs, ys := b[lo:hi], y[lo:hi]
		for i, v := range a[lo:hi] {
			ys[i] = v + bs[i]
		}
		reluInPlace(ys)
	})
}

func (o *addReLUOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *addReLUOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.Keep()
	d, err := G.ApplyOp(&reluGradOp{opBase{Name: "ReLUGrad", N: 2, Out: &kept{}}, o.dims}, out, grad)
	return G.Nodes{d, d}, err
}

// AddReLU returns max(a+b, 0) element-wise for a and b of one shape, in
// one op.
func AddReLU(a, b *G.Node) (*G.Node, error) {
	return G.ApplyOp(&addReLUOp{opBase{Name: "AddReLU", N: 2}, a.Dims()}, a, b)
}

// maskPos sets out[i] to dy[i] where y[i] > 0 and to 0 elsewhere, for y
// the output of a ReLU (non-negative). out may be dy. The float32 path is
// free of branches: a ReLU's signs are random and mispredicted branches
// cost more than the arithmetic.
func maskPos[T float](y, dy, out []T) {
	if y32, ok := any(y).([]float32); ok {
		dy32, out32 := any(dy).([]float32), any(out).([]float32)
		dy32, out32 = dy32[:len(y32)], out32[:len(y32)]
		done := maskPosVec(y32, dy32, out32)
		y32, dy32, out32 = y32[done:], dy32[done:], out32[done:]
		for i, v := range y32 {
			u := int64(math.Float32bits(v))
			// all ones when 1 <= u <= bits(+Inf) (v > 0), else 0
			m := uint32((u-0x7f800001)>>63) &^ uint32((u-1)>>63)
			out32[i] = math.Float32frombits(math.Float32bits(dy32[i]) & m)
		}
		return
	}
	for i, v := range y {
		if v > 0 {
			out[i] = dy[i]
		} else {
			out[i] = 0
		}
	}
}

// reluInPlace sets every negative element of s (and -0) to 0 and keeps
// NaN, as PyTorch's ReLU does, so that a numeric fault propagates to the
// loss and is reported instead of vanishing. The float32 path is free of
// branches.
func reluInPlace[T float](s []T) {
	if s32, ok := any(s).([]float32); ok {
		s32 = s32[reluVec(s32):]
		for i, v := range s32 {
			u := int64(math.Float32bits(v))
			// keep when u <= bits(+Inf) (+0, positive, +Inf) or when v is
			// a NaN (|bits| > bits(+Inf)), so that NaN propagates
			keep := (u - 0x7f800001) >> 63
			nan := (0x7f800000 - (u & 0x7fffffff)) >> 63
			s32[i] = math.Float32frombits(uint32(u) & uint32(keep|nan))
		}
		return
	}
	for i, v := range s {
		if !(v > 0) && v == v {
			s[i] = 0
		}
	}
}
