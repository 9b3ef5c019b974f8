package layers

import (
	"errors"
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/gosiamese/gosiamese/internal/numeric"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// cosineEps keeps the norms away from zero: |a| is sqrt(sum a² + cosineEps),
// so the distance and its gradient are finite for a zero vector.
const cosineEps = numeric.Eps

// cosineOp takes (a, b), both (N, D), and returns (N, 1) holding
// 1 - a·b / (|a| |b|) per row.
type cosineOp struct{ opBase }

func (o *cosineOp) Type() hm.Type { return fnType(2, 2, 2) }

func (o *cosineOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	a, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{a[0], 1}, nil
}

func (o *cosineOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if !s.Eq(in[1].Shape()) || s.Dims() != 2 {
		return nil, fmt.Errorf("layers: %s: shapes %v and %v, want two equal (N, D)", o.Name, s, in[1].Shape())
	}
	out := newDense(in[0].Dtype(), tensor.Shape{s[0], 1})
	switch in[0].Dtype() {
	case tensor.Float32:
		cosine(s[1], data[float32](in[0]), data[float32](in[1]), nil, data[float32](out), nil, nil)
	default:
		cosine(s[1], data[float64](in[0]), data[float64](in[1]), nil, data[float64](out), nil, nil)
	}
	return out, nil
}

// cosine writes the distance of each row pair to y, or, with dy given, the
// gradients with respect to a (into da) or b (into db).
func cosine[T float](d int, a, b, dy, y, da, db []T) {
	for r := 0; r < len(a)/d; r++ {
		ar, br := a[r*d:(r+1)*d], b[r*d:(r+1)*d]
		var ab, aa, bb float64
		for j := range ar {
			x, z := float64(ar[j]), float64(br[j])
			ab += x * z
			aa += x * x
			bb += z * z
		}
		na, nb := math.Sqrt(aa+cosineEps), math.Sqrt(bb+cosineEps)
		c := ab / (na * nb)
		if dy == nil {
			y[r] = T(1 - c)
			continue
		}
		g := float64(dy[r])
		// d(1-c)/da = -(b/(na nb) - c a/na²), and symmetrically for b.
		if da != nil {
			for j := range ar {
				da[r*d+j] = T(-g * (float64(br[j])/(na*nb) - c*float64(ar[j])/(na*na)))
			}
		}
		if db != nil {
			for j := range br {
				db[r*d+j] = T(-g * (float64(ar[j])/(na*nb) - c*float64(br[j])/(nb*nb)))
			}
		}
	}
}

func (o *cosineOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *cosineOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	gs := make(G.Nodes, 2)
	for k := range gs {
		g, err := G.ApplyOp(&cosineGradOp{opBase{Name: fmt.Sprintf("CosineDistanceGrad%d", k), N: 3}, k}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		gs[k] = g
	}
	return gs, nil
}

// cosineGradOp takes (a, b, dy) and returns the gradient for a (which 0)
// or b (which 1).
type cosineGradOp struct {
	opBase
	which int
}

func (o *cosineGradOp) Type() hm.Type { return fnType(2, 2, 2, 2) }

func (o *cosineGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *cosineGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 3)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	out := newDense(in[0].Dtype(), s)
	switch in[0].Dtype() {
	case tensor.Float32:
		a, b, dy, o32 := data[float32](in[0]), data[float32](in[1]), data[float32](in[2]), data[float32](out)
		if o.which == 0 {
			cosine(s[1], a, b, dy, nil, o32, nil)
		} else {
			cosine(s[1], a, b, dy, nil, nil, o32)
		}
	default:
		a, b, dy, o64 := data[float64](in[0]), data[float64](in[1]), data[float64](in[2]), data[float64](out)
		if o.which == 0 {
			cosine(s[1], a, b, dy, nil, o64, nil)
		} else {
			cosine(s[1], a, b, dy, nil, nil, o64)
		}
	}
	return out, nil
}

func (o *cosineGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *cosineGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: cosine distance has no second derivative")
}

// CosineDistance returns 1 - cos(a, b) for each row of a and b, both
// (N, D), as an (N, 1) tensor: 0 for vectors pointing the same way, 2 for
// opposite ones. Norms include a tiny epsilon, so a zero row gives a finite
// distance (1) and gradient.
func CosineDistance(a, b *G.Node) (*G.Node, error) {
	if a.Dims() != 2 || !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("layers: CosineDistance: shapes %v and %v, want two equal (N, D)", a.Shape(), b.Shape())
	}
	return G.ApplyOp(&cosineOp{opBase{Name: "CosineDistance", N: 2}}, a, b)
}
