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

// BCEWithLogits returns the mean binary cross-entropy of N logits z
// against labels y in [0, 1] (1 = same, 0 = different):
//
//	loss = 1/N Σ max(z, 0) - z·y + log1p(exp(-|z|))
//
// which never forms σ(z), so it stays finite and exact in float32 for any
// logit. The gradient is (σ(z) - y)/N; labels are not differentiated.
// logits and labels have shape (N) or (N, 1), the same N and one dtype.
func BCEWithLogits(logits, labels *G.Node) (*G.Node, error) {
	const fn = "BCEWithLogits"
	if err := checkNodes(fn, []string{"logits", "labels"}, logits, labels); err != nil {
		return nil, err
	}
	n, err := batchLen(fn, "logits", logits)
	if err != nil {
		return nil, err
	}
	m, err := batchLen(fn, "labels", labels)
	if err != nil {
		return nil, err
	}
	if n != m {
		return nil, fmt.Errorf("loss: %s: %d logits but %d labels", fn, n, m)
	}
	return G.ApplyOp(&bceOp{graphop.Base{Name: fn, N: 2}, logits.Dims(), labels.Dims()}, logits, labels)
}

// bceOp takes (logits, labels) and returns the scalar mean BCE.
type bceOp struct {
	graphop.Base
	zr, yr int // ranks of logits and labels
}

func (o *bceOp) Type() hm.Type { return fnType(0, o.zr, o.yr) }

func (o *bceOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	for i := range 2 {
		if _, err := shapeOf(o.Name, ds, i); err != nil {
			return nil, err
		}
	}
	return tensor.ScalarShape(), nil
}

func (o *bceOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	if err := sameSize(o.Name, in[0], in[1]); err != nil {
		return nil, err
	}
	var v float64
	switch dt := in[0].Dtype(); dt {
	case tensor.Float32:
		v = bceKernel(data[float32](in[0]), data[float32](in[1]))
	default:
		v = bceKernel(data[float64](in[0]), data[float64](in[1]))
	}
	return newScalar(in[0].Dtype(), v), nil
}

func bceKernel[T float](z, y []T) float64 {
	var s float64
	for i := range z {
		zi, yi := float64(z[i]), float64(y[i])
		s += max(zi, 0) - zi*yi + math.Log1p(math.Exp(-math.Abs(zi)))
	}
	return s / float64(len(z))
}

func (o *bceOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *bceOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dz, err := G.ApplyOp(&bceGradOp{graphop.Base{Name: o.Name + "Grad", N: 3}, o.zr, o.yr}, in[0], in[1], grad)
	return G.Nodes{dz, nil}, err
}

// bceGradOp takes (logits, labels, dy) and returns (σ(z) - y)·dy/N.
type bceGradOp struct {
	graphop.Base
	zr, yr int
}

func (o *bceGradOp) Type() hm.Type { return fnType(o.zr, o.zr, o.yr, 0) }

func (o *bceGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *bceGradOp) Do(vs ...G.Value) (G.Value, error) {
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
		bceGradKernel(data[float32](in[0]), data[float32](in[1]), dy, data[float32](out))
	default:
		bceGradKernel(data[float64](in[0]), data[float64](in[1]), dy, data[float64](out))
	}
	return out, nil
}

func bceGradKernel[T float](z, y []T, dy float64, dz []T) {
	k := dy / float64(len(z))
	for i := range z {
		dz[i] = T((numeric.Sigmoid(float64(z[i])) - float64(y[i])) * k)
	}
}

func (o *bceGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *bceGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("loss: BCEWithLogits has no second derivative")
}
