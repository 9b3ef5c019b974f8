package layers

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

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
	relu          bool // output max(bn(x), 0)
	eps, momentum float64
	mean, vari    *tensor.Dense // running statistics, shape (C)

	// saved holds the batch statistics of the last training forward pass,
	// for the gradient ops of the same run.
	saved struct {
		sync.Mutex
		stats []float64
		x     [2]uintptr
	}
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
	out := o.NewOutput(x.Dtype(), x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		err = bnForward(o, n, c, sp, data[float32](x), data[float32](in[1]), data[float32](in[2]), data[float32](o.mean), data[float32](o.vari), data[float32](out))
	default:
		err = bnForward(o, n, c, sp, data[float64](x), data[float64](in[1]), data[float64](in[2]), data[float64](o.mean), data[float64](o.vari), data[float64](out))
	}
	return out, err
}

// bnStats returns the mean and biased variance of channel ch (bnvec.go).
func bnStats[T float](n, c, sp, ch int, x []T) (mean, vari float64) {
	var m, v [1]float64
	blockStats(x, n, c, sp, ch, ch+1, m[:], v[:])
	return m[0], v[0]
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
	var saved []float64
	if o.train {
		saved = make([]float64, 2*c)
	}
	// channels are independent: split them across goroutines, which take
	// blocks of them image by image (bnvec.go)
	parallelFor(c, n*sp, func(lo, hi int) {
		bs := min(hi-lo, bnBlock(n, sp))
		var means, varis [bnMaxBlock]float64
		var scale, shift [bnMaxBlock]T
		e := epilogue[T]{scale: scale[:], shift: shift[:], relu: o.relu}
		for b0 := lo; b0 < hi; b0 += bs {
			b1 := min(hi, b0+bs)
			if o.train {
				blockStats(x, n, c, sp, b0, b1, means[:], varis[:])
			}
			for ch := b0; ch < b1; ch++ {
				var mean, invstd float64
				if o.train {
					vari := varis[ch-b0]
					mean = means[ch-b0]
					invstd = 1 / math.Sqrt(vari+o.eps)
					saved[ch], saved[c+ch] = mean, invstd
					rm[ch] = T((1-o.momentum)*float64(rm[ch]) + o.momentum*mean)
					rv[ch] = T((1-o.momentum)*float64(rv[ch]) + o.momentum*vari*m/(m-1))
				} else {
					mean, invstd = float64(rm[ch]), 1/math.Sqrt(float64(rv[ch])+o.eps)
				}
				e.scale[ch-b0] = T(invstd * float64(gamma[ch]))
				e.shift[ch-b0] = T(float64(beta[ch]) - mean*invstd*float64(gamma[ch]))
			}
			// y = max(x·scale + shift, 0) with the ReLU: the epilogue's
			// arithmetic, in vector code where there is
			for i := 0; i < n; i++ {
				for ch := b0; ch < b1; ch++ {
					lo, hi := (i*c+ch)*sp, (i*c+ch+1)*sp
					e.apply(ch-b0, lo, x[lo:hi], y[lo:hi])
				}
			}
		}
	})
	if o.train {
		o.saved.Lock()
		o.saved.stats, o.saved.x = saved, dataID(x)
		o.saved.Unlock()
	}
	return nil
}

// dataID identifies a backing slice (its first element's address and its
// length).
func dataID[T float](x []T) [2]uintptr {
	if len(x) == 0 {
		return [2]uintptr{}
	}
	return [2]uintptr{uintptr(unsafe.Pointer(&x[0])), uintptr(len(x))}
}

// batchStats returns the per-channel batch means and 1/sqrt(var+eps)
// (2*C values) saved by the forward pass over x, or nil when x is not the
// input of the last forward pass.
func (o *bnOp) batchStats(id [2]uintptr) []float64 {
	o.saved.Lock()
	defer o.saved.Unlock()
	if o.saved.x != id {
		return nil
	}
	return o.saved.stats
}

func (o *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *bnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.Keep()
	// sums = (Σ dy, Σ dy·xhat) per channel, computed once; dgamma and dbeta
	// are its rows, dx uses it. After a fused ReLU, dy counts only where
	// the output is positive.
	args := G.Nodes{in[0], grad}
	if o.relu {
		args = G.Nodes{in[0], out, grad}
	}
	sums, err := G.ApplyOp(&bnGradOp{opBase: opBase{Name: o.Name + "GradSums", N: len(args), Out: &kept{}}, fwd: o, which: bnSums}, args...)
	if err != nil {
		return nil, err
	}
	dxArgs := append(G.Nodes{in[1], sums}, args...)
	dx, err := G.ApplyOp(&bnGradOp{opBase: opBase{Name: o.Name + "GradX", N: len(dxArgs), Out: &kept{}}, fwd: o, which: bnGradX}, dxArgs...)
	if err != nil {
		return nil, err
	}
	dgamma, err := G.ApplyOp(&bnGradOp{opBase: opBase{Name: o.Name + "GradGamma", N: 1}, fwd: o, which: bnGradGamma}, sums)
	if err != nil {
		return nil, err
	}
	dbeta, err := G.ApplyOp(&bnGradOp{opBase: opBase{Name: o.Name + "GradBeta", N: 1}, fwd: o, which: bnGradBeta}, sums)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dgamma, dbeta}, nil
}

// What a bnGradOp computes.
const (
	// bnSums takes (x, [y], dy) and returns the (2, C) per-channel sums
	// Σ dy and Σ dy·xhat (y: the fused ReLU's output).
	bnSums = iota
	// bnGradX takes (gamma, sums, x, [y], dy) and returns dx.
	bnGradX
	// bnGradGamma and bnGradBeta take sums and return a row of it.
	bnGradGamma
	bnGradBeta
)

// bnGradOp is a part of BatchNorm's gradient (see bnSums and the
// following constants).
type bnGradOp struct {
	opBase
	fwd   *bnOp
	which int
}

func (o *bnGradOp) Type() hm.Type {
	d := o.fwd.dims
	switch o.which {
	case bnSums:
		if o.fwd.relu {
			return fnType(2, d, d, d)
		}
		return fnType(2, d, d)
	case bnGradX:
		if o.fwd.relu {
			return fnType(d, 1, 2, d, d, d)
		}
		return fnType(d, 1, 2, d, d)
	}
	return fnType(1, 2)
}

func (o *bnGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	switch o.which {
	case bnSums:
		s, err := shapeOf(o.Name, ds, 0)
		if err != nil {
			return nil, err
		}
		return tensor.Shape{2, s[1]}, nil
	case bnGradX:
		s, err := shapeOf(o.Name, ds, 2)
		return s.Clone(), err
	}
	s, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{s[1]}, nil
}

func (o *bnGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, o.N)
	if err != nil {
		return nil, err
	}
	if o.which == bnGradGamma || o.which == bnGradBeta {
		c := in[0].Shape()[1]
		out := newDense(in[0].Dtype(), tensor.Shape{c})
		row := 1
		if o.which == bnGradBeta {
			row = 0
		}
		switch out.Dtype() {
		case tensor.Float32:
			copy(data[float32](out), data[float32](in[0])[row*c:])
		default:
			copy(data[float64](out), data[float64](in[0])[row*c:])
		}
		return out, nil
	}
	var gamma, sums *tensor.Dense
	if o.which == bnGradX {
		gamma, sums, in = in[0], in[1], in[2:]
	}
	x, dy := in[0], in[len(in)-1]
	var y *tensor.Dense // the fused ReLU's output, or nil
	if o.fwd.relu {
		y = in[1]
	}
	n, c, sp := bnGeom(x.Shape())
	var out *tensor.Dense
	if o.which == bnGradX {
		out = o.NewOutput(x.Dtype(), x.Shape())
	} else {
		out = o.NewOutput(x.Dtype(), tensor.Shape{2, c})
	}
	switch x.Dtype() {
	case tensor.Float32:
		bnBackward(o, n, c, sp, data[float32](x), optData[float32](y), data[float32](dy), optData[float32](gamma), optData[float32](sums), data[float32](o.fwd.mean), data[float32](o.fwd.vari), data[float32](out))
	default:
		bnBackward(o, n, c, sp, data[float64](x), optData[float64](y), data[float64](dy), optData[float64](gamma), optData[float64](sums), data[float64](o.fwd.mean), data[float64](o.fwd.vari), data[float64](out))
	}
	return out, nil
}

// optData is data, or nil for a nil tensor.
func optData[T float](d *tensor.Dense) []T {
	if d == nil {
		return nil
	}
	return data[T](d)
}

// bnBackward computes the sums (which bnSums) or dx (bnGradX) from x, dy
// and, after a fused ReLU, its output y (dy counts only where y > 0).
func bnBackward[T float](o *bnGradOp, n, c, sp int, x, y, dy, gamma, sums, rm, rv, out []T) {
	m := float64(n * sp)
	var saved []float64
	if o.fwd.train {
		saved = o.fwd.batchStats(dataID(x))
	}
	parallelFor(c, n*sp, func(lo, hi int) {
		bs := min(hi-lo, bnBlock(n, sp))
		var means, invstds [bnMaxBlock]float64
		var acc [bnMaxBlock]gradSums[T]
		var buf [gradRun]T
		var coef [bnMaxBlock][4]T
		for b0 := lo; b0 < hi; b0 += bs {
			b1 := min(hi, b0+bs)
			for ch := b0; ch < b1; ch++ {
				if saved != nil {
					means[ch-b0], invstds[ch-b0] = saved[ch], saved[c+ch]
				} else {
					means[ch-b0], invstds[ch-b0] = bnChannelStats(o.fwd, n, c, sp, ch, x, rm, rv)
				}
			}
			if o.which == bnSums {
				// sums of dy and dy*xhat over each channel (bnvec.go)
				for ch := b0; ch < b1; ch++ {
					acc[ch-b0] = gradSums[T]{mean: T(means[ch-b0])}
				}
				for i := 0; i < n; i++ {
					for ch := b0; ch < b1; ch++ {
						lo, hi := (i*c+ch)*sp, (i*c+ch+1)*sp
						var ys []T
						if y != nil {
							ys = y[lo:hi]
						}
						acc[ch-b0].add(x[lo:hi], ys, dy[lo:hi], buf[:])
					}
				}
				for ch := b0; ch < b1; ch++ {
					sdy, sdyx := acc[ch-b0].sums()
					out[ch], out[c+ch] = T(sdy), T(sdyx*invstds[ch-b0])
				}
				continue
			}
			for ch := b0; ch < b1; ch++ {
				mean, invstd := means[ch-b0], invstds[ch-b0]
				sdy, sdyx := float64(sums[ch]), float64(sums[c+ch])
				g := float64(gamma[ch]) * invstd
				// training: out = g*(dy - sdy/m - xhat*sdyx/m); else g*dy
				at, bt, ct, mt := T(g), T(0), T(0), T(mean)
				if o.fwd.train {
					bt, ct = T(-g*invstd*sdyx/m), T(-g*sdy/m)
				}
				coef[ch-b0] = [4]T{at, bt, ct, mt}
			}
			for i := 0; i < n; i++ {
				for ch := b0; ch < b1; ch++ {
					lo, hi := (i*c+ch)*sp, (i*c+ch+1)*sp
					var ys []T
					if y != nil {
						ys = y[lo:hi]
					}
					k := &coef[ch-b0]
					gradXRun(x[lo:hi], ys, dy[lo:hi], out[lo:hi], k[0], k[1], k[2], k[3])
				}
			}
		}
	})
}

func (o *bnGradOp) DiffWRT(inputs int) []bool { return make([]bool, inputs) }

func (o *bnGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: BatchNorm has no second derivative")
}
