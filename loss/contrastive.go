package loss

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Contrastive returns the contrastive loss of Hadsell, Chopra & LeCun
// (2006) on N pair distances d and labels y:
//
//	loss = 1/N Σ y·½d² + (1-y)·½max(0, margin-d)²
//
// y = 1 means "same" (pulled together), as everywhere in this package: the
// paper's 1 - Y. dist and labels have shape (N) or (N, 1), the same N and
// one dtype; margin must be positive and finite.
func Contrastive(dist, labels *G.Node, margin float64) (*G.Node, error) {
	const fn = "Contrastive"
	if err := checkNodes(fn, []string{"dist", "labels"}, dist, labels); err != nil {
		return nil, err
	}
	if err := checkMargin(fn, margin, true); err != nil {
		return nil, err
	}
	n, err := batchLen(fn, "dist", dist)
	if err != nil {
		return nil, err
	}
	m, err := batchLen(fn, "labels", labels)
	if err != nil {
		return nil, err
	}
	if n != m {
		return nil, fmt.Errorf("loss: %s: %d distances but %d labels", fn, n, m)
	}
	op := &contrastiveOp{graphop.Base{Name: fmt.Sprintf("%s(margin=%v)", fn, margin), N: 2}, dist.Dims(), labels.Dims(), margin}
	return G.ApplyOp(op, dist, labels)
}

// contrastiveOp takes (dist, labels) and returns the scalar mean loss.
type contrastiveOp struct {
	graphop.Base
	dr, yr int // ranks of dist and labels
	margin float64
}

func (o *contrastiveOp) Type() hm.Type { return fnType(0, o.dr, o.yr) }

func (o *contrastiveOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	for i := range 2 {
		if _, err := shapeOf(o.Name, ds, i); err != nil {
			return nil, err
		}
	}
	return tensor.ScalarShape(), nil
}

func (o *contrastiveOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	if err := sameSize(o.Name, in[0], in[1]); err != nil {
		return nil, err
	}
	var v float64
	switch in[0].Dtype() {
	case tensor.Float32:
		v = contrastiveKernel(o.margin, data[float32](in[0]), data[float32](in[1]))
	default:
		v = contrastiveKernel(o.margin, data[float64](in[0]), data[float64](in[1]))
	}
	return newScalar(in[0].Dtype(), v), nil
}

func contrastiveKernel[T float](margin float64, dist, y []T) float64 {
	var s float64
	for i := range dist {
		d, yi := float64(dist[i]), float64(y[i])
		h := max(margin-d, 0)
		s += yi*d*d/2 + (1-yi)*h*h/2
	}
	return s / float64(len(dist))
}

func (o *contrastiveOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *contrastiveOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	op := &contrastiveGradOp{graphop.Base{Name: o.Name + "Grad", N: 3}, o.dr, o.yr, o.margin}
	dd, err := G.ApplyOp(op, in[0], in[1], grad)
	return G.Nodes{dd, nil}, err
}

// contrastiveGradOp takes (dist, labels, dy) and returns the gradient with
// respect to dist.
type contrastiveGradOp struct {
	graphop.Base
	dr, yr int
	margin float64
}

func (o *contrastiveGradOp) Type() hm.Type { return fnType(o.dr, o.dr, o.yr, 0) }

func (o *contrastiveGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *contrastiveGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, dy, err := gradInputs(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	if err := sameSize(o.Name, in[0], in[1]); err != nil {
		return nil, err
	}
	out := graphop.NewDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		contrastiveGradKernel(o.margin, data[float32](in[0]), data[float32](in[1]), dy, data[float32](out))
	default:
		contrastiveGradKernel(o.margin, data[float64](in[0]), data[float64](in[1]), dy, data[float64](out))
	}
	return out, nil
}

func contrastiveGradKernel[T float](margin float64, dist, y []T, dy float64, dd []T) {
	k := dy / float64(len(dist))
	for i := range dist {
		d, yi := float64(dist[i]), float64(y[i])
		dd[i] = T(k * (yi*d - (1-yi)*max(margin-d, 0)))
	}
}

func (o *contrastiveGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *contrastiveGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("loss: Contrastive has no second derivative")
}
