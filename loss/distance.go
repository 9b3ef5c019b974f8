package loss

import (
	"errors"
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/gosiamese/gosiamese/internal/graphop"
	"github.com/gosiamese/gosiamese/internal/numeric"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Eps is added to every squared Euclidean distance in this package (in
// EuclideanDistance and Triplet) before the square root:
//
//	d(a, b) = sqrt(Σ_j (a_j - b_j)² + Eps)
//
// Without it the gradient (a - b)/d is 0/0 at a == b. With it d ≥ 1e-6, the
// gradient is exactly 0 at a == b and its norm never exceeds 1, and the
// distance is biased by at most sqrt(Eps) = 1e-6 (d(a, a) = 1e-6, not 0),
// far below float32's resolution of typical distances.
const Eps = numeric.Eps

// EuclideanDistance returns the Euclidean distance of each row of a from
// the same row of b: (N, D), (N, D) → (N), each sqrt(Σ_j (a-b)² + Eps)
// (see Eps). It is differentiable with respect to both inputs.
func EuclideanDistance(a, b *G.Node) (*G.Node, error) {
	const fn = "EuclideanDistance"
	if err := checkNodes(fn, []string{"a", "b"}, a, b); err != nil {
		return nil, err
	}
	if a.Dims() != 2 || !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("loss: %s: shapes %v and %v: want two of (N, D)", fn, a.Shape(), b.Shape())
	}
	return G.ApplyOp(&distOp{graphop.Base{Name: fn, N: 2}}, a, b)
}

// distOp takes (a, b), both (N, D), and returns the (N) row distances.
type distOp struct{ graphop.Base }

func (o *distOp) Type() hm.Type { return graphop.FnType(1, 2, 2) }

func (o *distOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	a, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	b, err := shapeOf(o.Name, ds, 1)
	if err != nil {
		return nil, err
	}
	if len(a) != 2 || !a.Eq(b) {
		return nil, fmt.Errorf("loss: %s: shapes %v and %v: want two of (N, D)", o.Name, a, b)
	}
	return tensor.Shape{a[0]}, nil
}

func (o *distOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if len(s) != 2 || !s.Eq(in[1].Shape()) {
		return nil, fmt.Errorf("loss: %s: shapes %v and %v: want two of (N, D)", o.Name, s, in[1].Shape())
	}
	out := graphop.NewDense(in[0].Dtype(), tensor.Shape{s[0]})
	switch in[0].Dtype() {
	case tensor.Float32:
		distKernel(data[float32](in[0]), data[float32](in[1]), s[1], data[float32](out))
	default:
		distKernel(data[float64](in[0]), data[float64](in[1]), s[1], data[float64](out))
	}
	return out, nil
}

func distKernel[T float](a, b []T, d int, y []T) {
	for i := range y {
		y[i] = T(rowDist(a[i*d:(i+1)*d], b[i*d:(i+1)*d]))
	}
}

// rowDist is sqrt(Σ (a-b)² + Eps), summed in float64.
func rowDist[T float](a, b []T) float64 {
	s := Eps
	for j := range a {
		x := float64(a[j]) - float64(b[j])
		s += x * x
	}
	return math.Sqrt(s)
}

func (o *distOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *distOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	gs := make(G.Nodes, 2)
	for k, sign := range []float64{1, -1} {
		g, err := G.ApplyOp(&distGradOp{graphop.Base{Name: fmt.Sprintf("%sGrad%d", o.Name, k), N: 4}, sign}, in[0], in[1], out, grad)
		if err != nil {
			return nil, err
		}
		gs[k] = g
	}
	return gs, nil
}

// distGradOp takes (a, b, d, dy) and returns sign·(a-b)·dy/d row by row:
// the gradient for a (sign 1) or b (sign -1).
type distGradOp struct {
	graphop.Base
	sign float64
}

func (o *distGradOp) Type() hm.Type { return graphop.FnType(2, 2, 2, 1, 1) }

func (o *distGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *distGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 4)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if len(s) != 2 || !s.Eq(in[1].Shape()) || in[2].Shape().TotalSize() != s[0] || in[3].Shape().TotalSize() != s[0] {
		return nil, fmt.Errorf("loss: %s: shapes %v, %v, %v, %v do not match", o.Name, s, in[1].Shape(), in[2].Shape(), in[3].Shape())
	}
	out := graphop.NewDense(in[0].Dtype(), s)
	switch in[0].Dtype() {
	case tensor.Float32:
		distGradKernel(o.sign, data[float32](in[0]), data[float32](in[1]), data[float32](in[2]), data[float32](in[3]), data[float32](out))
	default:
		distGradKernel(o.sign, data[float64](in[0]), data[float64](in[1]), data[float64](in[2]), data[float64](in[3]), data[float64](out))
	}
	return out, nil
}

func distGradKernel[T float](sign float64, a, b, dist, dy, dx []T) {
	if len(dist) == 0 {
		return
	}
	d := len(a) / len(dist)
	for i := range dist {
		k := sign * float64(dy[i]) / float64(dist[i])
		for j := i * d; j < (i+1)*d; j++ {
			dx[j] = T(k * (float64(a[j]) - float64(b[j])))
		}
	}
}

func (o *distGradOp) DiffWRT(int) []bool { return []bool{false, false, false, false} }

func (o *distGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("loss: EuclideanDistance has no second derivative")
}
