package layers

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dropoutOp zeroes each element with probability p and scales the kept ones
// by 1/(1-p). Each run draws a fresh mask from a stream seeded by the
// graph's seed, the op's id and the run's step (the graph's step when one
// was set with Graph.SetStep, else the op's own count of runs); the
// gradient op reuses the mask of the run it belongs to.
type dropoutOp struct {
	opBase
	dims     int
	p        float64
	seed, id uint64
	clock    *stepClock
	runs     uint64
	keep     []bool
}

func newDropoutOp(p float64, dims int, seed, id uint64, clock *stepClock) *dropoutOp {
	return &dropoutOp{
		opBase: opBase{Name: fmt.Sprintf("Dropout%d(%g)", id, p), N: 1}, // ids are unique per graph
		dims:   dims,
		p:      p,
		seed:   seed,
		id:     id,
		clock:  clock,
	}
}

// rng returns the random stream of the current run.
func (o *dropoutOp) rng() *rand.Rand {
	step := o.runs
	o.runs++
	if o.clock != nil && o.clock.set {
		step = o.clock.step
	}
	return rand.New(rand.NewPCG(o.seed^(step*0x9E3779B97F4A7C15), o.id))
}

func (o *dropoutOp) Type() hm.Type { return fnType(o.dims, o.dims) }

func (o *dropoutOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *dropoutOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 1)
	if err != nil {
		return nil, err
	}
	x := in[0]
	n := x.Shape().TotalSize()
	if cap(o.keep) < n {
		o.keep = make([]bool, n)
	}
	o.keep = o.keep[:n]
	rng := o.rng()
	for i := range o.keep {
		o.keep[i] = rng.Float64() >= o.p
	}
	out := newDense(x.Dtype(), x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		maskScale(o.keep, o.p, data[float32](x), data[float32](out))
	default:
		maskScale(o.keep, o.p, data[float64](x), data[float64](out))
	}
	return out, nil
}

// maskScale writes x/(1-p) where keep is set and 0 elsewhere.
func maskScale[T float](keep []bool, p float64, x, y []T) {
	s := T(1 / (1 - p))
	for i, k := range keep {
		if k {
			y[i] = x[i] * s
		} else {
			y[i] = 0
		}
	}
}

func (o *dropoutOp) DiffWRT(int) []bool { return []bool{true} }

func (o *dropoutOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	// out is an input of the gradient op only to order it after the forward
	// op; the mask itself is read from o.
	dx, err := G.ApplyOp(&dropoutGradOp{opBase{Name: o.Name + "Grad", N: 2}, o}, out, grad)
	return G.Nodes{dx}, err
}

// dropoutGradOp takes (y, dy) and returns dy masked and scaled like the
// forward pass of the same run.
type dropoutGradOp struct {
	opBase
	fwd *dropoutOp
}

func (o *dropoutGradOp) Type() hm.Type { return fnType(o.fwd.dims, o.fwd.dims, o.fwd.dims) }

func (o *dropoutGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *dropoutGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	dy := in[1]
	if dy.Shape().TotalSize() != len(o.fwd.keep) {
		return nil, fmt.Errorf("layers: %s: gradient of %v before the forward pass ran", o.Name, dy.Shape())
	}
	out := newDense(dy.Dtype(), dy.Shape())
	switch dy.Dtype() {
	case tensor.Float32:
		maskScale(o.fwd.keep, o.fwd.p, data[float32](dy), data[float32](out))
	default:
		maskScale(o.fwd.keep, o.fwd.p, data[float64](dy), data[float64](out))
	}
	return out, nil
}

func (o *dropoutGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *dropoutGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: Dropout has no second derivative")
}
