package loss

import (
	"errors"
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy returns the mean cross-entropy of N rows of K class
// logits z against target distributions y (one-hot or smoothed), both
// (N, K) of one dtype:
//
//	loss = 1/N Σ_n Σ_k y_nk·(logsumexp(z_n) - z_nk)
//
// computed with the row maximum subtracted, so it is finite for any finite
// logits. Targets are not differentiated.
func SoftmaxCrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	const fn = "SoftmaxCrossEntropy"
	if err := checkNodes(fn, []string{"logits", "targets"}, logits, targets); err != nil {
		return nil, err
	}
	zs, ys := logits.Shape(), targets.Shape()
	if len(zs) != 2 || zs[0] <= 0 || zs[1] <= 0 {
		return nil, fmt.Errorf("loss: %s: logits have shape %v, want (N, K)", fn, zs)
	}
	if !zs.Eq(ys) {
		return nil, fmt.Errorf("loss: %s: logits %v and targets %v differ in shape", fn, zs, ys)
	}
	return G.ApplyOp(&xentOp{graphop.Base{Name: fn, N: 2}}, logits, targets)
}

// OneHot returns n rows of k targets for the classes: 1-smoothing+smoothing/k
// at the class and smoothing/k elsewhere (smoothing 0: one-hot). It fails
// for a class outside [0, k) or a smoothing outside [0, 1).
func OneHot(classes []int, k int, smoothing float64) ([]float32, error) {
	if !(smoothing >= 0 && smoothing < 1) {
		return nil, fmt.Errorf("loss: OneHot: smoothing %v outside [0, 1)", smoothing)
	}
	out := make([]float32, len(classes)*k)
	off := float32(smoothing / float64(k))
	on := float32(1-smoothing) + off
	for n, c := range classes {
		if c < 0 || c >= k {
			return nil, fmt.Errorf("loss: OneHot: class %d of row %d outside [0, %d)", c, n, k)
		}
		row := out[n*k : (n+1)*k]
		for i := range row {
			row[i] = off
		}
		row[c] = on
	}
	return out, nil
}

// xentOp takes (logits, targets), both (N, K), and returns the scalar mean
// cross-entropy.
type xentOp struct{ graphop.Base }

func (o *xentOp) Type() hm.Type { return fnType(0, 2, 2) }

func (o *xentOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	for i := range 2 {
		if _, err := shapeOf(o.Name, ds, i); err != nil {
			return nil, err
		}
	}
	return tensor.ScalarShape(), nil
}

func xentInputs(op string, in []*tensor.Dense) (n, k int, err error) {
	s := in[0].Shape()
	if len(s) != 2 || !s.Eq(in[1].Shape()) {
		return 0, 0, fmt.Errorf("loss: %s: shapes %v and %v, want two equal (N, K)", op, s, in[1].Shape())
	}
	return s[0], s[1], nil
}

func (o *xentOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	n, k, err := xentInputs(o.Name, in)
	if err != nil {
		return nil, err
	}
	var v float64
	switch in[0].Dtype() {
	case tensor.Float32:
		v = xentKernel(data[float32](in[0]), data[float32](in[1]), n, k, nil, 0)
	default:
		v = xentKernel(data[float64](in[0]), data[float64](in[1]), n, k, nil, 0)
	}
	return newScalar(in[0].Dtype(), v), nil
}

// xentKernel returns the mean loss; with dz non-nil it also writes the
// gradient scaled by dy.
func xentKernel[T float](z, y []T, n, k int, dz []T, dy float64) float64 {
	var s float64
	p := make([]float64, k)
	for r := range n {
		zr, yr := z[r*k:(r+1)*k], y[r*k:(r+1)*k]
		m := math.Inf(-1)
		for _, v := range zr {
			m = max(m, float64(v))
		}
		var sum, ysum float64
		for i, v := range zr {
			p[i] = math.Exp(float64(v) - m)
			sum += p[i]
			ysum += float64(yr[i])
		}
		lse := m + math.Log(sum)
		for i, v := range zr {
			s += float64(yr[i]) * (lse - float64(v))
		}
		if dz != nil {
			for i := range zr {
				dz[r*k+i] = T((p[i]/sum*ysum - float64(yr[i])) * dy / float64(n))
			}
		}
	}
	return s / float64(n)
}

func (o *xentOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *xentOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dz, err := G.ApplyOp(&xentGradOp{graphop.Base{Name: o.Name + "Grad", N: 3}}, in[0], in[1], grad)
	return G.Nodes{dz, nil}, err
}

// xentGradOp takes (logits, targets, dy) and returns the gradient with
// respect to the logits.
type xentGradOp struct{ graphop.Base }

func (o *xentGradOp) Type() hm.Type { return fnType(2, 2, 2, 0) }

func (o *xentGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *xentGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, dy, err := gradInputs(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	n, k, err := xentInputs(o.Name, in)
	if err != nil {
		return nil, err
	}
	out := graphop.NewDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		xentKernel(data[float32](in[0]), data[float32](in[1]), n, k, data[float32](out), dy)
	default:
		xentKernel(data[float64](in[0]), data[float64](in[1]), n, k, data[float64](out), dy)
	}
	return out, nil
}

func (o *xentGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *xentGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("loss: SoftmaxCrossEntropy has no second derivative")
}
