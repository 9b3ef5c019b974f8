package layers

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linearOp computes y = x Wᵀ (+ b) for x (N, in), W (out, in) and, when
// bias, b (out), through gemm: this package's kernels rather than a
// transposed copy of W and Gorgonia's product. Its gradients are ops of
// the same kind: dx = dy W, dW = dyᵀ x, db = the sum of dy's rows.
type linearOp struct {
	opBase
	kind linearKind
}

type linearKind int

const (
	linearForward     linearKind = iota // (x, W[, b]) -> (N, out)
	linearForwardBias                   // the same with b
	linearGradX                         // (dy, W) -> (N, in)
	linearGradW                         // (dy, x) -> (out, in)
	linearGradB                         // (dy) -> (out)
)

var linearNames = [...]string{"Linear", "LinearBias", "LinearGradX", "LinearGradW", "LinearGradB"}

func newLinearOp(name string, kind linearKind) *linearOp {
	n := map[linearKind]int{linearForward: 2, linearForwardBias: 3, linearGradX: 2, linearGradW: 2, linearGradB: 1}[kind]
	return &linearOp{opBase{Name: name + "." + linearNames[kind], N: n}, kind}
}

func (o *linearOp) Type() hm.Type {
	switch o.kind {
	case linearForwardBias:
		return fnType(2, 2, 2, 1)
	case linearGradB:
		return fnType(1, 2)
	}
	return fnType(2, 2, 2)
}

func (o *linearOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	a, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	if o.kind == linearGradB {
		return tensor.Shape{a[1]}, nil
	}
	b, err := shapeOf(o.Name, ds, 1)
	if err != nil {
		return nil, err
	}
	switch o.kind {
	case linearForward, linearForwardBias:
		return tensor.Shape{a[0], b[0]}, nil
	case linearGradX:
		return tensor.Shape{a[0], b[1]}, nil
	default: // linearGradW
		return tensor.Shape{a[1], b[1]}, nil
	}
}

func (o *linearOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, o.N)
	if err != nil {
		return nil, err
	}
	for i, d := range in {
		if want := 2 - b2i(o.kind == linearForwardBias && i == 2); d.Dims() != want {
			return nil, fmt.Errorf("layers: %s: input %d has shape %v, want %d dimensions", o.Name, i, d.Shape(), want)
		}
	}
	a := in[0].Shape()
	var s tensor.Shape
	switch o.kind {
	case linearGradB:
		s = tensor.Shape{a[1]}
	default:
		b := in[1].Shape()
		var ok bool
		switch o.kind {
		case linearForward, linearForwardBias:
			s, ok = tensor.Shape{a[0], b[0]}, a[1] == b[1]
			ok = ok && (o.kind == linearForward || in[2].Shape()[0] == b[0])
		case linearGradX:
			s, ok = tensor.Shape{a[0], b[1]}, a[1] == b[0]
		case linearGradW:
			s, ok = tensor.Shape{a[1], b[1]}, a[0] == b[0]
		}
		if !ok {
			return nil, fmt.Errorf("layers: %s: shapes %v and %v do not fit", o.Name, a, b)
		}
	}
	out := o.NewOutput(in[0].Dtype(), s)
	switch in[0].Dtype() {
	case tensor.Float32:
		linear(o.kind, in, data[float32](out))
	default:
		linear(o.kind, in, data[float64](out))
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// linear computes o's kind of product of in into out.
func linear[T float](kind linearKind, in []*tensor.Dense, out []T) {
	a := in[0].Shape()
	x := data[T](in[0])
	switch kind {
	case linearGradB:
		n, d := a[0], a[1]
		for j := range d {
			var s float64
			for i := range n {
				s += float64(x[i*d+j])
			}
			out[j] = T(s)
		}
		return
	}
	w := data[T](in[1])
	b := in[1].Shape()
	switch kind {
	case linearForward, linearForwardBias:
		n, k, m := a[0], a[1], b[0]
		gemm(false, true, n, m, k, 1, x, k, w, k, 0, out, m)
		if kind == linearForwardBias {
			bias := data[T](in[2])
			for i := range n {
				row := out[i*m : (i+1)*m]
				for j := range row {
					row[j] += bias[j]
				}
			}
		}
	case linearGradX: // dy (N, out) · W (out, in)
		n, m, k := a[0], b[1], a[1]
		gemm(false, false, n, m, k, 1, x, k, w, m, 0, out, m)
	case linearGradW: // dyᵀ (out, N) · x (N, in)
		n, m, k := a[1], b[1], a[0]
		gemm(true, false, n, m, k, 1, x, a[1], w, m, 0, out, m)
	}
}

func (o *linearOp) DiffWRT(int) []bool {
	switch o.kind {
	case linearForward:
		return []bool{true, true}
	case linearForwardBias:
		return []bool{true, true, true}
	}
	return make([]bool, o.N)
}

func (o *linearOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if o.kind != linearForward && o.kind != linearForwardBias {
		return nil, errors.New("layers: a linear layer's gradient has no derivative of its own")
	}
	base := o.Name[:len(o.Name)-len(linearNames[o.kind])-1]
	dx, err := G.ApplyOp(newLinearOp(base, linearGradX), grad, in[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(newLinearOp(base, linearGradW), grad, in[0])
	if err != nil {
		return nil, err
	}
	if o.kind == linearForward {
		return G.Nodes{dx, dw}, nil
	}
	db, err := G.ApplyOp(newLinearOp(base, linearGradB), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// MatMulT returns x Wᵀ for x (N, D) and w (M, D): every row of x against
// every row of w, as a linear layer without bias or a cosine classifier
// computes its logits. name tells the graph's ops apart.
func MatMulT(name string, x, w *G.Node) (*G.Node, error) {
	if x.Dims() != 2 || w.Dims() != 2 || x.Shape()[1] != w.Shape()[1] {
		return nil, fmt.Errorf("layers: %s: shapes %v and %v, want (N, D) and (M, D)", name, x.Shape(), w.Shape())
	}
	return G.ApplyOp(newLinearOp(name, linearForward), x, w)
}
