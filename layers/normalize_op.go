package layers

import (
	"errors"
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// normalizeOp takes x (N, D) and returns scale * x / |x| per row, with
// |x| = sqrt(sum x² + cosineEps) as in CosineDistance. As its own gradient
// (grad set) it takes (x, dy) and returns the gradient for x.
type normalizeOp struct {
	opBase
	scale float64
	grad  bool
}

func (o *normalizeOp) Type() hm.Type {
	if o.grad {
		return fnType(2, 2, 2)
	}
	return fnType(2, 2)
}

func (o *normalizeOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *normalizeOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, o.N)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if o.grad && !s.Eq(in[1].Shape()) {
		return nil, fmt.Errorf("layers: %s: shapes %v and %v differ", o.Name, s, in[1].Shape())
	}
	out := newDense(in[0].Dtype(), s.Clone())
	switch in[0].Dtype() {
	case tensor.Float32:
		normalizeRows(s[1], o.scale, in, data[float32](out))
	default:
		normalizeRows(s[1], o.scale, in, data[float64](out))
	}
	return out, nil
}

// normalizeRows writes scale * x / |x| for each row of x = in[0] to out,
// or, with dy = in[1] given, the gradient of that with respect to x.
func normalizeRows[T float](d int, scale float64, in []*tensor.Dense, out []T) {
	x := data[T](in[0])
	var dy []T
	if len(in) > 1 {
		dy = data[T](in[1])
	}
	for r := 0; r < len(x)/d; r++ {
		xr := x[r*d : (r+1)*d]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		n := math.Sqrt(ss + cosineEps)
		if dy == nil {
			for j, v := range xr {
				out[r*d+j] = T(scale * float64(v) / n)
			}
			continue
		}
		// With u = x/n: d(scale u)/dx = scale (I - u uᵀ)/n, so
		// dx = scale (dy - u (u·dy)) / n.
		gr := dy[r*d : (r+1)*d]
		var ug float64
		for j, v := range xr {
			ug += float64(v) / n * float64(gr[j])
		}
		for j, v := range xr {
			out[r*d+j] = T(scale * (float64(gr[j]) - float64(v)/n*ug) / n)
		}
	}
}

func (o *normalizeOp) DiffWRT(int) []bool {
	if o.grad {
		return []bool{false, false}
	}
	return []bool{true}
}

func (o *normalizeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, errors.New("layers: L2Normalize has no second derivative")
	}
	g, err := G.ApplyOp(&normalizeOp{opBase{Name: o.Name + "Grad", N: 2}, o.scale, true}, in[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{g}, nil
}

// L2Normalize returns scale * x / |x| for each row of x (N, D): rows of
// length scale pointing as x's rows do. The norm includes the tiny epsilon
// of CosineDistance, so a zero row stays zero, with a finite gradient.
func L2Normalize(x *G.Node, scale float64) (*G.Node, error) {
	if x.Dims() != 2 {
		return nil, fmt.Errorf("layers: L2Normalize: shape %v, want (N, D)", x.Shape())
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("layers: L2Normalize: scale %v, want a positive finite number", scale)
	}
	// The name carries the scale: Gorgonia tells ops apart by their hash,
	// which is the name's.
	return G.ApplyOp(&normalizeOp{opBase{Name: fmt.Sprintf("L2Normalize(%g)", scale), N: 1}, scale, false}, x)
}
