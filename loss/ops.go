package loss

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const pkg = "loss"

// Shorthands for the shared op plumbing in internal/graphop.
type float = graphop.Float

func data[T float](d *tensor.Dense) []T { return graphop.Data[T](d) }

func denses(op string, vs []G.Value, n int) ([]*tensor.Dense, error) {
	return graphop.Denses(pkg, op, vs, n)
}

func shapeOf(op string, ds []G.DimSizer, i int) (tensor.Shape, error) {
	return graphop.ShapeOf(pkg, op, ds, i)
}

// fnType is graphop.FnType where rank 0 stands for a scalar, which
// Gorgonia types as the bare element type (as Grad requires of a cost).
func fnType(out int, in ...int) hm.Type {
	a := hm.TypeVariable('a')
	of := func(r int) hm.Type {
		if r == 0 {
			return a
		}
		return G.TensorType{Dims: r, Of: a}
	}
	ts := make([]hm.Type, 0, len(in)+1)
	for _, r := range in {
		ts = append(ts, of(r))
	}
	return hm.NewFnType(append(ts, of(out))...)
}

// newScalar returns v as a Gorgonia scalar of dtype dt.
func newScalar(dt tensor.Dtype, v float64) G.Value {
	if dt == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}

// scalarOf reads the incoming gradient of a scalar output: a Gorgonia
// scalar or a one-element tensor of dtype dt.
func scalarOf(op string, v G.Value, dt tensor.Dtype) (float64, error) {
	if v == nil {
		return 0, fmt.Errorf("loss: %s: missing output gradient", op)
	}
	if v.Dtype() != dt {
		return 0, fmt.Errorf("loss: %s: output gradient is %v, inputs %v", op, v.Dtype(), dt)
	}
	switch s := v.(type) {
	case *G.F64:
		return float64(*s), nil
	case *G.F32:
		return float64(*s), nil
	case *tensor.Dense:
		if s.Shape().TotalSize() != 1 {
			return 0, fmt.Errorf("loss: %s: output gradient has shape %v, want a scalar", op, s.Shape())
		}
		if s.IsScalar() {
			switch x := s.ScalarValue().(type) {
			case float64:
				return x, nil
			case float32:
				return float64(x), nil
			}
		}
		if dt == tensor.Float32 {
			return float64(data[float32](s)[0]), nil
		}
		return data[float64](s)[0], nil
	}
	return 0, fmt.Errorf("loss: %s: output gradient of type %T", op, v)
}

// gradInputs splits the inputs of a gradient op into n dense tensors and
// the incoming scalar gradient that follows them.
func gradInputs(op string, vs []G.Value, n int) ([]*tensor.Dense, float64, error) {
	if len(vs) != n+1 {
		return nil, 0, fmt.Errorf("loss: %s: want %d inputs, got %d", op, n+1, len(vs))
	}
	in, err := denses(op, vs[:n], n)
	if err != nil {
		return nil, 0, err
	}
	dy, err := scalarOf(op, vs[n], in[0].Dtype())
	return in, dy, err
}

// sameSize checks at run time that two tensors hold the same number of
// elements (a batch of N as (N) or (N, 1)).
func sameSize(op string, a, b *tensor.Dense) error {
	if a.Shape().TotalSize() != b.Shape().TotalSize() {
		return fmt.Errorf("loss: %s: shapes %v and %v hold different batch sizes", op, a.Shape(), b.Shape())
	}
	return nil
}

// checkNodes validates, when the graph is built, that the nodes exist,
// share a graph and one dtype, float32 or float64.
func checkNodes(fn string, names []string, ns ...*G.Node) error {
	for i, n := range ns {
		if n == nil {
			return fmt.Errorf("loss: %s: %s is nil", fn, names[i])
		}
		if dt := n.Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
			return fmt.Errorf("loss: %s: %s is %v, want float32 or float64", fn, names[i], dt)
		}
		if i > 0 {
			if n.Graph() != ns[0].Graph() {
				return fmt.Errorf("loss: %s: %s and %s are in different graphs", fn, names[0], names[i])
			}
			if n.Dtype() != ns[0].Dtype() {
				return fmt.Errorf("loss: %s: %s is %v but %s is %v", fn, names[0], ns[0].Dtype(), names[i], n.Dtype())
			}
		}
	}
	return nil
}

// batchLen returns N for a node of shape (N) or (N, 1).
func batchLen(fn, name string, n *G.Node) (int, error) {
	s := n.Shape()
	switch {
	case len(s) == 1 && s[0] > 0:
		return s[0], nil
	case len(s) == 2 && s[0] > 0 && s[1] == 1:
		return s[0], nil
	}
	return 0, fmt.Errorf("loss: %s: %s has shape %v, want (N) or (N, 1)", fn, name, s)
}

// checkMargin rejects a margin that is not finite, is negative, or is zero
// where positive is set.
func checkMargin(fn string, margin float64, positive bool) error {
	switch {
	case math.IsNaN(margin) || math.IsInf(margin, 0):
		return fmt.Errorf("loss: %s: margin %v is not finite", fn, margin)
	case positive && margin <= 0:
		return fmt.Errorf("loss: %s: margin %v must be positive", fn, margin)
	case margin < 0:
		return fmt.Errorf("loss: %s: margin %v must not be negative", fn, margin)
	}
	return nil
}
