// Package graphop holds the plumbing shared by the project's own Gorgonia
// ops (in layers and loss): the constant parts of gorgonia.Op, function
// types, and typed access to tensor data for kernels written once for
// float32 and float64.
package graphop

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Float is the element type kernels are written for: float32 for models,
// float64 for numeric gradient checks.
type Float interface{ ~float32 | ~float64 }

// Base carries the parts of gorgonia.Op that are the same for all of the
// project's ops. Name must identify the op and everything that changes its
// result: Gorgonia merges nodes whose ops hash alike.
type Base struct {
	Name string
	N    int // arity
}

func (o Base) Arity() int            { return o.N }
func (o Base) ReturnsPtr() bool      { return false }
func (o Base) CallsExtern() bool     { return false }
func (o Base) OverwritesInput() int  { return -1 }
func (o Base) WriteHash(h hash.Hash) { fmt.Fprint(h, o.Name) }
func (o Base) String() string        { return o.Name }
func (o Base) Hashcode() uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, o.Name)
	return h.Sum32()
}

// FnType returns the Gorgonia function type taking tensors of the given
// ranks (all of one element type) and returning one of rank out.
func FnType(out int, in ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, G.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, G.TensorType{Dims: out, Of: a})
	return hm.NewFnType(ts...)
}

// Denses checks that vs holds n dense float32 or float64 tensors of one
// dtype and returns them; errors are prefixed with pkg and op.
func Denses(pkg, op string, vs []G.Value, n int) ([]*tensor.Dense, error) {
	if len(vs) != n {
		return nil, fmt.Errorf("%s: %s: want %d inputs, got %d", pkg, op, n, len(vs))
	}
	ds := make([]*tensor.Dense, n)
	for i, v := range vs {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("%s: %s: want a dense tensor, got %T", pkg, op, v)
		}
		if d.Dtype() != tensor.Float32 && d.Dtype() != tensor.Float64 {
			return nil, fmt.Errorf("%s: %s: want float32 or float64, got %v", pkg, op, d.Dtype())
		}
		if i > 0 && d.Dtype() != ds[0].Dtype() {
			return nil, fmt.Errorf("%s: %s: mixed dtypes %v and %v", pkg, op, ds[0].Dtype(), d.Dtype())
		}
		ds[i] = d
	}
	return ds, nil
}

// NewDense returns a zeroed tensor of the given dtype and shape.
func NewDense(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
}

// Data returns the backing slice of d as []T. A view (sliced or
// transposed) is copied into a fresh contiguous tensor first.
func Data[T Float](d *tensor.Dense) []T {
	if d.IsMaterializable() || !d.IsNativelyAccessible() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d.Data().([]T)
}

// ShapeOf returns the shape given to InferShape at position i.
func ShapeOf(pkg, op string, ds []G.DimSizer, i int) (tensor.Shape, error) {
	if i >= len(ds) {
		return nil, fmt.Errorf("%s: %s: missing input %d", pkg, op, i)
	}
	s, ok := ds[i].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: %s: input %d has no shape", pkg, op, i)
	}
	return s, nil
}
