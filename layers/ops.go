package layers

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// float is the element type our kernels are written for: float32 for
// models, float64 for numeric gradient checks.
type float interface{ ~float32 | ~float64 }

// opBase carries the parts of gorgonia.Op that are the same for all of the
// package's ops. name must identify the op and everything that changes its
// result (Gorgonia merges nodes whose ops hash alike).
type opBase struct {
	name  string
	arity int
}

func (o opBase) Arity() int            { return o.arity }
func (o opBase) ReturnsPtr() bool      { return false }
func (o opBase) CallsExtern() bool     { return false }
func (o opBase) OverwritesInput() int  { return -1 }
func (o opBase) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name) }
func (o opBase) String() string        { return o.name }
func (o opBase) Hashcode() uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, o.name)
	return h.Sum32()
}

// fnType returns the Gorgonia function type taking tensors of the given
// dimensions (all of one element type) and returning one of dims out.
func fnType(out int, in ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, G.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, G.TensorType{Dims: out, Of: a})
	return hm.NewFnType(ts...)
}

// dense returns v as a *tensor.Dense of float32 or float64.
func dense(op string, v G.Value) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("layers: %s: want a dense tensor, got %T", op, v)
	}
	if d.Dtype() != tensor.Float32 && d.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("layers: %s: want float32 or float64, got %v", op, d.Dtype())
	}
	return d, nil
}

// denses converts all values with dense and checks that they share a dtype.
func denses(op string, vs []G.Value, n int) ([]*tensor.Dense, error) {
	if len(vs) != n {
		return nil, fmt.Errorf("layers: %s: want %d inputs, got %d", op, n, len(vs))
	}
	ds := make([]*tensor.Dense, n)
	for i, v := range vs {
		d, err := dense(op, v)
		if err != nil {
			return nil, err
		}
		if i > 0 && d.Dtype() != ds[0].Dtype() {
			return nil, fmt.Errorf("layers: %s: mixed dtypes %v and %v", op, ds[0].Dtype(), d.Dtype())
		}
		ds[i] = d
	}
	return ds, nil
}

// newDense returns a zeroed tensor of the given dtype and shape.
func newDense(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
}

// data returns the backing slice of d as []T. A tensor that is a view
// (sliced or transposed) is copied into a fresh contiguous one first.
func data[T float](d *tensor.Dense) []T {
	if d.IsMaterializable() || !d.IsNativelyAccessible() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d.Data().([]T)
}

// shapeOf returns the shape given to InferShape at position i.
func shapeOf(op string, ds []G.DimSizer, i int) (tensor.Shape, error) {
	if i >= len(ds) {
		return nil, fmt.Errorf("layers: %s: missing input %d", op, i)
	}
	s, ok := ds[i].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("layers: %s: input %d has no shape", op, i)
	}
	return s, nil
}
