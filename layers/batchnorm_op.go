package layers

import (
	"errors"
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnOp normalises x of shape (N, C, ...) per channel and applies the affine
// transform: inputs (x, gamma, beta), gamma and beta of shape (C).
//
// In training mode it uses the batch's statistics (biased variance) and
// updates the running statistics in place:
// running = (1-momentum)*running + momentum*batch, with the unbiased batch
// variance, as PyTorch does. Otherwise it uses the running statistics.
type bnOp struct {
	opBase
	dims          int
	train         bool
	eps, momentum float64
	mean, vari    *tensor.Dense // running statistics, shape (C)
}

func (o *bnOp) Type() hm.Type { return fnType(o.dims, o.dims, 1, 1) }

func (o *bnOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

// bnGeom returns N*spatial (the count per channel), C and the spatial size.
func bnGeom(s tensor.Shape) (n, c, sp int) {
	sp = 1
	for _, d := range s[2:] {
		sp *= d
	}
	return s[0], s[1], sp
}

func (o *bnOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 3)
	if err != nil {
		return nil, err
	}
	x := in[0]
	n, c, sp := bnGeom(x.Shape())
	if in[1].Shape().TotalSize() != c || in[2].Shape().TotalSize() != c {
		return nil, fmt.Errorf("layers: %s: gamma %v and beta %v do not match %d channels", o.Name, in[1].Shape(), in[2].Shape(), c)
	}
	if o.train && n*sp < 2 {
		return nil, fmt.Errorf("layers: %s: training needs more than one value per channel, input is %v", o.Name, x.Shape())
	}
	out := newDense(x.Dtype(), x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		err = bnForward(o, n, c, sp, data[float32](x), data[float32](in[1]), data[float32](in[2]), data[float32](o.mean), data[float32](o.vari), data[float32](out))
	default:
		err = bnForward(o, n, c, sp, data[float64](x), data[float64](in[1]), data[float64](in[2]), data[float64](o.mean), data[float64](o.vari), data[float64](out))
	}
	return out, err
}

// bnStats returns the mean and biased variance of channel ch.
func bnStats[T float](n, c, sp, ch int, x []T) (mean, vari float64) {
	var s float64
	for i := 0; i < n; i++ {
		for _, v := range x[(i*c+ch)*sp : (i*c+ch+1)*sp] {
			s += float64(v)
		}
	}
	m := float64(n * sp)
	mean = s / m
	var q float64
	for i := 0; i < n; i++ {
		for _, v := range x[(i*c+ch)*sp : (i*c+ch+1)*sp] {
			d := float64(v) - mean
			q += d * d
		}
	}
	return mean, q / m
}

// bnChannelStats returns the mean and 1/sqrt(var+eps) used to normalise
// channel ch: the batch's in training mode, the running ones otherwise.
func bnChannelStats[T float](o *bnOp, n, c, sp, ch int, x, rm, rv []T) (mean, invstd float64) {
	if !o.train {
		return float64(rm[ch]), 1 / math.Sqrt(float64(rv[ch])+o.eps)
	}
	mean, vari := bnStats(n, c, sp, ch, x)
	return mean, 1 / math.Sqrt(vari+o.eps)
}

func bnForward[T float](o *bnOp, n, c, sp int, x, gamma, beta, rm, rv, y []T) error {
	if len(rm) != c || len(rv) != c {
		return fmt.Errorf("layers: %s: running statistics hold %d and %d values, want %d", o.Name, len(rm), len(rv), c)
	}
	m := float64(n * sp)
	for ch := 0; ch < c; ch++ {
		var mean, invstd float64
		if o.train {
			var vari float64
			mean, vari = bnStats(n, c, sp, ch, x)
			invstd = 1 / math.Sqrt(vari+o.eps)
			rm[ch] = T((1-o.momentum)*float64(rm[ch]) + o.momentum*mean)
			rv[ch] = T((1-o.momentum)*float64(rv[ch]) + o.momentum*vari*m/(m-1))
		} else {
			mean, invstd = float64(rm[ch]), 1/math.Sqrt(float64(rv[ch])+o.eps)
		}
		scale := T(invstd * float64(gamma[ch]))
		shift := T(float64(beta[ch]) - mean*invstd*float64(gamma[ch]))
		for i := 0; i < n; i++ {
			lo, hi := (i*c+ch)*sp, (i*c+ch+1)*sp
			xs, ys := x[lo:hi], y[lo:hi]
			for j, v := range xs {
				ys[j] = v*scale + shift
			}
		}
	}
	return nil
}

func (o *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *bnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	gs := make(G.Nodes, 3)
	for k := range gs {
		g, err := G.ApplyOp(&bnGradOp{opBase: opBase{Name: fmt.Sprintf("%sGrad%d", o.Name, k), N: 3}, fwd: o, which: k}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		gs[k] = g
	}
	return gs, nil
}

// bnGradOp takes (x, gamma, dy) and returns the gradient of the loss with
// respect to x (which 0), gamma (1) or beta (2).
type bnGradOp struct {
	opBase
	fwd   *bnOp
	which int
}

func (o *bnGradOp) Type() hm.Type {
	if o.which == 0 {
		return fnType(o.fwd.dims, o.fwd.dims, 1, o.fwd.dims)
	}
	return fnType(1, o.fwd.dims, 1, o.fwd.dims)
}

func (o *bnGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	if o.which == 0 {
		s, err := shapeOf(o.Name, ds, 0)
		return s.Clone(), err
	}
	s, err := shapeOf(o.Name, ds, 1)
	return s.Clone(), err
}

func (o *bnGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 3)
	if err != nil {
		return nil, err
	}
	x := in[0]
	n, c, sp := bnGeom(x.Shape())
	var out *tensor.Dense
	if o.which == 0 {
		out = newDense(x.Dtype(), x.Shape())
	} else {
		out = newDense(x.Dtype(), in[1].Shape())
	}
	switch x.Dtype() {
	case tensor.Float32:
		bnBackward(o, n, c, sp, data[float32](x), data[float32](in[1]), data[float32](in[2]), data[float32](o.fwd.mean), data[float32](o.fwd.vari), data[float32](out))
	default:
		bnBackward(o, n, c, sp, data[float64](x), data[float64](in[1]), data[float64](in[2]), data[float64](o.fwd.mean), data[float64](o.fwd.vari), data[float64](out))
	}
	return out, nil
}

func bnBackward[T float](o *bnGradOp, n, c, sp int, x, gamma, dy, rm, rv, out []T) {
	m := float64(n * sp)
	for ch := 0; ch < c; ch++ {
		mean, invstd := bnChannelStats(o.fwd, n, c, sp, ch, x, rm, rv)
		// sums of dy and dy*xhat over the channel
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			lo, hi := (i*c+ch)*sp, (i*c+ch+1)*sp
			for j, v := range x[lo:hi] {
				d := float64(dy[lo+j])
				sdy += d
				sdyx += d * (float64(v) - mean) * invstd
			}
		}
		switch o.which {
		case 1:
			out[ch] = T(sdyx)
			continue
		case 2:
			out[ch] = T(sdy)
			continue
		}
		g := float64(gamma[ch]) * invstd
		for i := 0; i < n; i++ {
			lo, hi := (i*c+ch)*sp, (i*c+ch+1)*sp
			for j, v := range x[lo:hi] {
				d := float64(dy[lo+j])
				if o.fwd.train {
					xhat := (float64(v) - mean) * invstd
					out[lo+j] = T(g * (d - sdy/m - xhat*sdyx/m))
				} else {
					out[lo+j] = T(g * d)
				}
			}
		}
	}
}

func (o *bnGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *bnGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: BatchNorm has no second derivative")
}
