package layers

import (
	"fmt"

	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Shorthands for the shared op plumbing in internal/graphop.
type (
	float  = graphop.Float
	opBase = graphop.Base
	kept   = graphop.Kept
)

var (
	fnType   = graphop.FnType
	newDense = graphop.NewDense
)

func data[T float](d *tensor.Dense) []T { return graphop.Data[T](d) }

func denses(op string, vs []G.Value, n int) ([]*tensor.Dense, error) {
	return graphop.Denses("layers", op, vs, n)
}

func shapeOf(op string, ds []G.DimSizer, i int) (tensor.Shape, error) {
	return graphop.ShapeOf("layers", op, ds, i)
}

// sameShape returns the common shape of the first two inputs given to
// InferShape, or an error when they differ.
func sameShape(op string, ds []G.DimSizer) (tensor.Shape, error) {
	a, err := shapeOf(op, ds, 0)
	if err != nil {
		return nil, err
	}
	b, err := shapeOf(op, ds, 1)
	if err != nil {
		return nil, err
	}
	if !a.Eq(b) {
		return nil, fmt.Errorf("layers: %s: shapes %v and %v differ", op, a, b)
	}
	return a.Clone(), nil
}

// sameDenses is denses for two inputs that must have one shape.
func sameDenses(op string, vs []G.Value) ([]*tensor.Dense, error) {
	in, err := denses(op, vs, 2)
	if err != nil {
		return nil, err
	}
	if !in[0].Shape().Eq(in[1].Shape()) {
		return nil, fmt.Errorf("layers: %s: shapes %v and %v differ", op, in[0].Shape(), in[1].Shape())
	}
	return in, nil
}
