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
	// Out, when set, keeps the op's output from one run to the next (see
	// Kept).
	Out *Kept
}

// NewOutput returns the tensor the op writes its result into: a new one,
// or the one it returned the run before when it keeps its output.
func (o Base) NewOutput(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	return o.Out.Dense(dt, shape)
}

// Kept is an op's output tensor kept for the next run. A tape machine drops
// every value when it is reset, so an op that allocates afresh leaves a
// whole step's activations and gradients to the garbage collector each
// step, and the heap grows to about twice what a step needs. Ops of a graph
// that is differentiated (a training graph) keep their outputs instead:
// nothing outside a step holds its activations or gradients, while a value
// read from an inference graph may be kept by the caller.
type Kept struct {
	d    *tensor.Dense
	slot *Slot
}

// Dense returns a tensor of dt and shape: k's tensor when it has that type
// and shape (its contents are the last run's), a new zeroed one otherwise,
// which k keeps; a view of k's slot when it shares one. A nil k always
// returns a new one.
func (k *Kept) Dense(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	if k == nil {
		return NewDense(dt, shape)
	}
	if k.slot != nil {
		return k.slot.dense(dt, shape)
	}
	if k.d == nil || k.d.Dtype() != dt || !k.d.Shape().Eq(shape) {
		k.d = NewDense(dt, shape)
	}
	return k.d
}

// Slot returns the slot k shares, or nil.
func (k *Kept) Slot() *Slot {
	if k == nil {
		return nil
	}
	return k.slot
}

// Slot is a buffer that the outputs of several ops share, ops whose
// outputs are never needed at the same time in a run (see Base.Share).
type Slot struct {
	f32 []float32
	f64 []float64
}

func (s *Slot) dense(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	n := shape.TotalSize()
	switch dt {
	case tensor.Float32:
		if cap(s.f32) < n {
			s.f32 = make([]float32, n)
		}
		return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(s.f32[:n]))
	case tensor.Float64:
		if cap(s.f64) < n {
			s.f64 = make([]float64, n)
		}
		return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(s.f64[:n]))
	}
	return NewDense(dt, shape)
}

// Share makes the op write its output into s from now on. The caller
// guarantees that no two ops sharing s need their outputs at once.
func (o *Base) Share(s *Slot) {
	o.Keep()
	o.Out.slot = s
}

// Keep makes the op keep its output from run to run, from now on.
func (o *Base) Keep() {
	if o.Out == nil {
		o.Out = new(Kept)
	}
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
