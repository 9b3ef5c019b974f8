package layers

import (
	"errors"
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxPoolOp is a max pooling over square windows with symmetric padding
// (padding never wins). A NaN in a window wins, as in PyTorch, so NaN
// propagates instead of crashing the backward pass (Gorgonia's own max
// pooling indexes out of range on an all-NaN window).
type maxPoolOp struct {
	opBase
	k, s, p int
}

func newMaxPoolOp(k, s, p int) *maxPoolOp {
	return &maxPoolOp{opBase: opBase{Name: fmt.Sprintf("MaxPool(k%d,s%d,p%d)", k, s, p), N: 1}, k: k, s: s, p: p}
}

func (o *maxPoolOp) out(h, w int) (int, int) {
	return (h+2*o.p-o.k)/o.s + 1, (w+2*o.p-o.k)/o.s + 1
}

func (o *maxPoolOp) Type() hm.Type { return fnType(4, 4) }

func (o *maxPoolOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	if len(s) != 4 {
		return nil, fmt.Errorf("layers: %s: want a 4-D input, got %v", o.Name, s)
	}
	oh, ow := o.out(s[2], s[3])
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("layers: %s: input %v is too small", o.Name, s)
	}
	return tensor.Shape{s[0], s[1], oh, ow}, nil
}

func (o *maxPoolOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 1)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	oh, ow := o.out(s[2], s[3])
	out := o.NewOutput(in[0].Dtype(), tensor.Shape{s[0], s[1], oh, ow})
	switch in[0].Dtype() {
	case tensor.Float32:
		maxPool(o, s, data[float32](in[0]), data[float32](out), nil, nil)
	default:
		maxPool(o, s, data[float64](in[0]), data[float64](out), nil, nil)
	}
	return out, nil
}

// maxPool writes the pooled values to y, or, given dy, adds each window's
// gradient to the position of its maximum in dx: the first maximum in
// reading order, or the first NaN. Planes (image, channel) are shared out
// among GOMAXPROCS goroutines.
func maxPool[T float](o *maxPoolOp, s tensor.Shape, x, y, dy, dx []T) {
	h, w := s[2], s[3]
	oh, ow := o.out(h, w)
	// ResNet's stem pooling (3x3, stride 2, padding 1) forward in vector
	// code where there is, 16 outputs at a time, with the same choices
	vec := maxPoolVec && dy == nil && o.k == 3 && o.s == 2 && o.p == 1 && w < 1<<30
	parallelFor(s[0]*s[1], h*w, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			xs := x[nc*h*w : (nc+1)*h*w]
			if x32, ok := any(xs).([]float32); ok && vec {
				y32 := any(y[nc*oh*ow : (nc+1)*oh*ow]).([]float32)
				for i := range oh {
					maxPoolRowVec(x32, h, w, i, y32[i*ow:(i+1)*ow])
				}
				continue
			}
			for i := range oh {
				// the window's rows and columns inside the image
				r0, r1 := max(0, i*o.s-o.p), min(h, i*o.s-o.p+o.k)
				for j := range ow {
					c0, c1 := max(0, j*o.s-o.p), min(w, j*o.s-o.p+o.k)
					best, at := T(math.Inf(-1)), -1
					for r := r0; r < r1; r++ {
						for c, v := range xs[r*w+c0 : r*w+c1] {
							if at < 0 || v > best || (v != v && best == best) {
								best, at = v, r*w+c0+c
							}
						}
					}
					k := nc*oh*ow + i*ow + j
					if dy == nil {
						y[k] = best
					} else if at >= 0 {
						dx[nc*h*w+at] += dy[k]
					}
				}
			}
		}
	})
}

func (o *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

func (o *maxPoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.Keep()
	dx, err := G.ApplyOp(&maxPoolGradOp{opBase{Name: o.Name + "Grad", N: 2, Out: &kept{}}, o}, in[0], grad)
	return G.Nodes{dx}, err
}

// maxPoolGradOp takes (x, dy) and routes each window's gradient to its
// maximum.
type maxPoolGradOp struct {
	opBase
	fwd *maxPoolOp
}

func (o *maxPoolGradOp) Type() hm.Type { return fnType(4, 4, 4) }

func (o *maxPoolGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *maxPoolGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	out := o.NewOutput(in[0].Dtype(), s) // kept from the last run: cleared, as maxPool adds to it
	switch in[0].Dtype() {
	case tensor.Float32:
		clear(data[float32](out))
		maxPool(o.fwd, s, data[float32](in[0]), nil, data[float32](in[1]), data[float32](out))
	default:
		clear(data[float64](out))
		maxPool(o.fwd, s, data[float64](in[0]), nil, data[float64](in[1]), data[float64](out))
	}
	return out, nil
}

func (o *maxPoolGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *maxPoolGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: max pooling has no second derivative")
}
