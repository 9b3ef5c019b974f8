package layers

import (
	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Shorthands for the shared op plumbing in internal/graphop.
type (
	float  = graphop.Float
	opBase = graphop.Base
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
