package layers

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convOp is a 2-D convolution of x (N, C, H, W) with w (F, C, KH, KW),
// without bias, NCHW, as one matrix product over the whole batch:
//
//	cols (C*KH*KW, N*P) = im2col(x)       P = OH*OW output positions
//	y'   (F, N*P)       = w (F, C*KH*KW) · cols
//	y    (N, F, OH, OW) = y' with the first two axes swapped
//
// A 1x1 stride-1 unpadded convolution skips im2col (cols is x with its
// first two axes swapped, or x itself when N = 1). The products go through
// gemm (gonum or OpenBLAS). Scratch matrices come from a pool and are
// reused across ops and runs.
type convOp struct {
	opBase
	convGeom
	// bn, when set, makes the op an inference convolution followed by
	// BatchNorm on running statistics (and a ReLU): inputs
	// (x, w, gamma, beta), output act(scale*conv + shift) per channel,
	// computed while the product is copied out; with a residual, inputs
	// (x, w, gamma, beta, res) and output max(scale*conv + shift + res, 0).
	// Its gradient (rarely wanted from an inference graph) recomputes the
	// convolution.
	bn *convBN
	// panels, when set, keeps the weights packed across runs: set in
	// Inference graphs, whose weights change between runs rarely.
	panels *weightPanels
}

// convBN is the BatchNorm folded into an inference convolution.
type convBN struct {
	mean, vari *tensor.Dense // running statistics, shape (F)
	eps        float64
	relu       bool
	res        bool // the fifth input is added before the ReLU
}

// convGeom is the geometry of a convolution.
type convGeom struct {
	kh, kw, sh, sw, ph, pw, dh, dw int
}

func (g convGeom) out(h, w int) (int, int) {
	oh := (h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
	ow := (w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
	return oh, ow
}

// direct reports whether cols is x with axes 0 and 1 swapped.
func (g convGeom) direct() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
}

// transposable reports whether the gradient for x of a convolution with
// this geometry is itself a convolution (of dy with the weights flipped,
// convTilesGradXFlipped): stride 1 and padding at most the dilated
// kernel's reach.
func (g convGeom) transposable() bool {
	return g.sh == 1 && g.sw == 1 && g.ph <= g.dh*(g.kh-1) && g.pw <= g.dw*(g.kw-1)
}

// gradByFlip reports whether the tile path computes the gradient for x of
// this convolution, with n images and oh×ow outputs, as a convolution with
// the flipped weights (convTilesGradXFlipped).
func (g convGeom) gradByFlip(n, oh, ow int) bool {
	return convGradFlip && g.transposable() && !g.direct() && n*oh*ow >= flipMinPixels
}

// flipped is the geometry of that convolution: stride 1, the same
// dilation, and the padding that brings dy's size back to x's.
func (g convGeom) flipped() convGeom {
	return convGeom{kh: g.kh, kw: g.kw, sh: 1, sw: 1, ph: g.dh*(g.kh-1) - g.ph, pw: g.dw*(g.kw-1) - g.pw, dh: g.dh, dw: g.dw}
}

func (g convGeom) desc() string {
	return fmt.Sprintf("k%dx%d s%dx%d p%dx%d d%dx%d", g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw)
}

func newConvOp(g convGeom) *convOp {
	return &convOp{opBase: opBase{Name: "Conv2D(" + g.desc() + ")", N: 2}, convGeom: g}
}

func (o *convOp) Type() hm.Type {
	switch {
	case o.bn != nil && o.bn.res:
		return fnType(4, 4, 4, 1, 1, 4)
	case o.bn != nil:
		return fnType(4, 4, 4, 1, 1)
	}
	return fnType(4, 4, 4)
}

func (o *convOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	xs, err := shapeOf(o.Name, ds, 0)
	if err != nil {
		return nil, err
	}
	ws, err := shapeOf(o.Name, ds, 1)
	if err != nil {
		return nil, err
	}
	return o.outShape(xs, ws)
}

func (o *convOp) outShape(xs, ws tensor.Shape) (tensor.Shape, error) {
	if xs.Dims() != 4 || ws.Dims() != 4 || xs[1] != ws[1] || ws[2] != o.kh || ws[3] != o.kw {
		return nil, fmt.Errorf("layers: %s: input %v and weight %v do not match", o.Name, xs, ws)
	}
	oh, ow := o.out(xs[2], xs[3])
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("layers: %s: input %v is too small", o.Name, xs)
	}
	return tensor.Shape{xs[0], ws[0], oh, ow}, nil
}

func (o *convOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, o.N)
	if err != nil {
		return nil, err
	}
	s, err := o.outShape(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	if o.bn != nil {
		f := s[1]
		for _, d := range []*tensor.Dense{in[2], in[3], o.bn.mean, o.bn.vari} {
			if d.Shape().TotalSize() != f || d.Dtype() != in[0].Dtype() {
				return nil, fmt.Errorf("layers: %s: BatchNorm tensor %v %v does not match %d channels", o.Name, d.Dtype(), d.Shape(), f)
			}
		}
		if o.bn.res && (!in[4].Shape().Eq(s) || in[4].Dtype() != in[0].Dtype()) {
			return nil, fmt.Errorf("layers: %s: residual %v %v does not match the output %v", o.Name, in[4].Dtype(), in[4].Shape(), s)
		}
	}
	out := o.NewOutput(in[0].Dtype(), s)
	switch out.Dtype() {
	case tensor.Float32:
		if err := convForward32(o.convGeom, in[0].Shape(), s, data[float32](in[0]), data[float32](in[1]), data[float32](out), o.epilogue32(in), o.panels); err != nil {
			return nil, err
		}
	default:
		convForward(o.convGeom, in[0].Shape(), s, data[float64](in[0]), data[float64](in[1]), data[float64](out), o.epilogue64(in), nil)
	}
	return out, nil
}

// epilogue is the per-channel affine map (and ReLU) applied to the
// product: y = max(scale*conv + shift, 0) with relu, and with res
// y = max((scale*conv + shift) + res, 0): a residual connection, res being
// a tensor of y's shape, added as AddReLU would add it.
type epilogue[T float] struct {
	scale, shift []T
	relu         bool
	res          []T
}

func (o *convOp) epilogue32(in []*tensor.Dense) *epilogue[float32] { return opEpilogue[float32](o, in) }

func (o *convOp) epilogue64(in []*tensor.Dense) *epilogue[float64] { return opEpilogue[float64](o, in) }

// opEpilogue is the epilogue of o for its inputs in, nil without one.
func opEpilogue[T float](o *convOp, in []*tensor.Dense) *epilogue[T] {
	if o.bn == nil {
		return nil
	}
	e := bnEpilogue(o.bn, data[T](in[2]), data[T](in[3]), data[T](o.bn.mean), data[T](o.bn.vari))
	if o.bn.res {
		e.res = data[T](in[4])
	}
	return e
}

// bnEpilogue folds BatchNorm on running statistics into scale and shift,
// exactly as bnForward computes them.
func bnEpilogue[T float](bn *convBN, gamma, beta, rm, rv []T) *epilogue[T] {
	e := &epilogue[T]{scale: make([]T, len(gamma)), shift: make([]T, len(gamma)), relu: bn.relu}
	for ch := range gamma {
		mean, invstd := float64(rm[ch]), 1/math.Sqrt(float64(rv[ch])+bn.eps)
		e.scale[ch] = T(invstd * float64(gamma[ch]))
		e.shift[ch] = T(float64(beta[ch]) - mean*invstd*float64(gamma[ch]))
	}
	return e
}

// apply sets dst, which is y[off:off+len(dst)], to the epilogue of src
// for output channel f. Each multiplication and addition is rounded on its
// own (the conversions keep the compiler from fusing them), as the vector
// code (affineVec) that does most of a float32 slice rounds them.
func (e *epilogue[T]) apply(f, off int, src, dst []T) {
	scale, shift := e.scale[f], e.shift[f]
	var res []T
	if e.res != nil {
		res = e.res[off : off+len(dst)]
	}
	done := 0
	if d, ok := any(dst).([]float32); ok {
		done = affineVec(d, any(src).([]float32), any(res).([]float32), float32(scale), float32(shift), e.relu)
		if done == len(dst) {
			return
		}
	}
	src, dst = src[done:len(dst)], dst[done:]
	if res != nil {
		res = res[done:]
		for i, v := range src {
			dst[i] = T(T(v*scale)+shift) + res[i]
		}
	} else {
		for i, v := range src {
			dst[i] = T(v*scale) + shift
		}
	}
	if e.relu {
		reluInPlace(dst)
	}
}

func (o *convOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

func (o *convOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.Keep()
	if o.bn != nil {
		// The unfused ops' gradients: the convolution is recomputed (the
		// BatchNorm gradient needs its output); out is what the BatchNorm
		// (and ReLU) would have returned. With a residual, out is what
		// AddReLU returned: its gradient, the residual's, passes grad
		// where out is positive, and the BatchNorm before it has no ReLU.
		relu := o.bn.relu
		var gres *G.Node
		if o.bn.res {
			var err error
			if gres, err = G.ApplyOp(&reluGradOp{opBase{Name: o.Name + "ReLUGrad", N: 2, Out: &kept{}}, 4}, out, grad); err != nil {
				return nil, err
			}
			grad, relu = gres, false
		}
		plain := newConvOp(o.convGeom)
		conv, err := G.ApplyOp(plain, in[0], in[1])
		if err != nil {
			return nil, err
		}
		bn := &bnOp{opBase: opBase{Name: o.Name + "BN", N: 3}, dims: 4, eps: o.bn.eps, relu: relu, mean: o.bn.mean, vari: o.bn.vari}
		gbn, err := bn.SymDiff(G.Nodes{conv, in[2], in[3]}, out, grad)
		if err != nil {
			return nil, err
		}
		gconv, err := plain.SymDiff(G.Nodes{in[0], in[1]}, conv, gbn[0])
		if err != nil {
			return nil, err
		}
		if gres != nil {
			return G.Nodes{gconv[0], gconv[1], gbn[1], gbn[2], gres}, nil
		}
		return G.Nodes{gconv[0], gconv[1], gbn[1], gbn[2]}, nil
	}
	dx, err := G.ApplyOp(&convGradOp{opBase: opBase{Name: o.Name + "GradX", N: 3, Out: &kept{}}, convGeom: o.convGeom, which: 0}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&convGradOp{opBase: opBase{Name: o.Name + "GradW", N: 3, Out: &kept{}}, convGeom: o.convGeom, which: 1}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw}, nil
}

// convGradOp takes (x, w, dy) and returns the gradient with respect to x
// (which 0) or w (which 1).
type convGradOp struct {
	opBase
	convGeom
	which int
}

func (o *convGradOp) Type() hm.Type { return fnType(4, 4, 4, 4) }

func (o *convGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, o.which)
	return s.Clone(), err
}

func (o *convGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 3)
	if err != nil {
		return nil, err
	}
	xs, ws, ys := in[0].Shape(), in[1].Shape(), in[2].Shape()
	if want, err := newConvOp(o.convGeom).outShape(xs, ws); err != nil || !want.Eq(ys) {
		return nil, fmt.Errorf("layers: %s: gradient %v does not match input %v and weight %v", o.Name, ys, xs, ws)
	}
	out := o.NewOutput(in[0].Dtype(), in[o.which].Shape())
	switch out.Dtype() {
	case tensor.Float32:
		if err := convBackward32(o.convGeom, o.which, xs, ys, data[float32](in[0]), data[float32](in[1]), data[float32](in[2]), data[float32](out)); err != nil {
			return nil, err
		}
	default:
		convBackward(o.convGeom, o.which, xs, ys, data[float64](in[0]), data[float64](in[1]), data[float64](in[2]), data[float64](out))
	}
	return out, nil
}

func (o *convGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *convGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("layers: Conv2D has no second derivative")
}

// parallelFor runs f(lo, hi) over [0, n) split across GOMAXPROCS
// goroutines, when there is enough work (n*cost elements) to share.
func parallelFor(n, cost int, f func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 || n*cost < 1<<15 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// im2col fills cols (C*KH*KW, N*P) from x (N, C, H, W).
func im2col[T float](g convGeom, n, c, h, w, oh, ow int, x, cols []T) {
	p := oh * ow
	np := n * p
	kk := g.kh * g.kw
	parallelFor(c*kk, np, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ch, ki, kj := r/kk, r%kk/g.kw, r%g.kw
			row := cols[r*np : (r+1)*np]
			for img := range n {
				src := x[(img*c+ch)*h*w : (img*c+ch+1)*h*w]
				dst := row[img*p : (img+1)*p]
				for i := range oh {
					ih := i*g.sh - g.ph + ki*g.dh
					d := dst[i*ow : (i+1)*ow]
					if ih < 0 || ih >= h {
						clear(d)
						continue
					}
					srow := src[ih*w : (ih+1)*w]
					off := kj*g.dw - g.pw
					if g.sw == 1 {
						// iw = j + off: zero where outside, copy the rest
						j0, j1 := max(0, -off), min(ow, w-off)
						if j0 >= j1 {
							clear(d)
							continue
						}
						clear(d[:j0])
						copy(d[j0:j1], srow[j0+off:j1+off])
						clear(d[j1:])
						continue
					}
					for j := range ow {
						iw := j*g.sw + off
						if iw < 0 || iw >= w {
							d[j] = 0
						} else {
							d[j] = srow[iw]
						}
					}
				}
			}
		}
	})
}

// col2im sets dx (N, C, H, W) to the sum of cols (C*KH*KW, N*P) over the
// positions each column was read from.
func col2im[T float](g convGeom, n, c, h, w, oh, ow int, cols, dx []T) {
	p := oh * ow
	np := n * p
	kk := g.kh * g.kw
	parallelFor(c, kk*np, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for img := range n {
				clear(dx[(img*c+ch)*h*w : (img*c+ch+1)*h*w])
			}
			for k := range kk {
				ki, kj := k/g.kw, k%g.kw
				row := cols[(ch*kk+k)*np : (ch*kk+k+1)*np]
				for img := range n {
					dst := dx[(img*c+ch)*h*w : (img*c+ch+1)*h*w]
					src := row[img*p : (img+1)*p]
					for i := range oh {
						ih := i*g.sh - g.ph + ki*g.dh
						if ih < 0 || ih >= h {
							continue
						}
						drow := dst[ih*w : (ih+1)*w]
						s := src[i*ow : (i+1)*ow]
						// column j lands at j·sw + off: inside the row
						// for j in [j0, j1)
						off := kj*g.dw - g.pw
						j0, j1 := 0, ow
						if off < 0 {
							j0 = (-off + g.sw - 1) / g.sw
						}
						if lim := w - off; lim <= 0 {
							j1 = 0
						} else {
							j1 = min(j1, (lim+g.sw-1)/g.sw)
						}
						if g.sw == 1 && j0 < j1 {
							// one contiguous run, without the index
							// arithmetic and its bounds tests
							d, v := drow[j0+off:j1+off], s[j0:j1]
							for t := range d {
								d[t] += v[t]
							}
							continue
						}
						for j := j0; j < j1; j++ {
							drow[j*g.sw+off] += s[j]
						}
					}
				}
			}
		}
	})
}

// swap01 copies src (a, b, inner) to dst (b, a, inner).
func swap01[T float](a, b, inner int, src, dst []T) {
	parallelFor(a, b*inner, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := range b {
				copy(dst[(j*a+i)*inner:(j*a+i+1)*inner], src[(i*b+j)*inner:(i*b+j+1)*inner])
			}
		}
	})
}

// colsOf returns the (C*KH*KW, N*P) matrix of x, and the scratch buffer
// holding it (nil when it is x itself).
func colsOf[T float](g convGeom, xs tensor.Shape, oh, ow int, x []T) ([]T, *[]T) {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	if g.direct() && n == 1 {
		return x, nil
	}
	buf := getScratch[T](c * g.kh * g.kw * n * oh * ow)
	if g.direct() {
		swap01(n, c, h*w, x, *buf)
	} else {
		im2col(g, n, c, h, w, oh, ow, x, *buf)
	}
	return *buf, buf
}

// tiledConv reports the kernel that runs float32 convolutions as tile jobs
// (convtiles.go), or nil where they go through im2col and gemm.
func tiledConv[T float]() *microKernel {
	var zero T
	if _, ok := any(zero).(float32); ok && convTiles {
		return convKernel
	}
	return nil
}

// convGradFlip switches convTilesGradXFlipped off, for benchmarks that
// compare it with the columns and col2im.
var convGradFlip = true

// flipMinPixels is the fewest output values per channel (N·OH·OW) for
// which convTilesGradXFlipped is used: below it, flipping and packing the
// weights costs more than the scatter it saves (BenchmarkConvGradX: 1.1 to
// 2 times faster from 1,024 values on, slower at 64, even at 256).
const flipMinPixels = 512

// convTiles switches the tile path off, for tests that compare it with
// im2col and gemm.
var convTiles = true

// convForward sets y to epi(conv(x, wt)); on the tile path the weights
// come packed from wp when it is set.
func convForward[T float](g convGeom, xs, ys tensor.Shape, x, wt, y []T, epi *epilogue[T], wp *weightPanels) {
	n, c := xs[0], xs[1]
	f, oh, ow := ys[1], ys[2], ys[3]
	if mk := tiledConv[T](); mk != nil {
		cg := colGeom{convGeom: g, c: c, h: xs[2], w: xs[3], oh: oh, ow: ow}
		convTilesForward(mk, cg, n, f, any(x).([]float32), any(wt).([]float32), any(y).([]float32), any(epi).(*epilogue[float32]), wp)
		return
	}
	p := oh * ow
	np, k := n*p, c*g.kh*g.kw
	cols, cbuf := colsOf(g, xs, oh, ow, x)
	switch {
	case n == 1:
		gemm(false, false, f, np, k, 1, wt, k, cols, np, 0, y, np)
		if epi != nil {
			parallelFor(f, p, func(lo, hi int) {
				for ch := lo; ch < hi; ch++ {
					epi.apply(ch, ch*p, y[ch*p:(ch+1)*p], y[ch*p:(ch+1)*p])
				}
			})
		}
	case epi != nil:
		tmp := getScratch[T](f * np)
		gemm(false, false, f, np, k, 1, wt, k, cols, np, 0, *tmp, np)
		// swap the first two axes and apply the epilogue in one pass
		parallelFor(f, np, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				for img := range n {
					epi.apply(ch, (img*f+ch)*p, (*tmp)[(ch*n+img)*p:(ch*n+img+1)*p], y[(img*f+ch)*p:(img*f+ch+1)*p])
				}
			}
		})
		putScratch(tmp)
	default:
		tmp := getScratch[T](f * np)
		gemm(false, false, f, np, k, 1, wt, k, cols, np, 0, *tmp, np)
		swap01(f, n, p, *tmp, y)
		putScratch(tmp)
	}
	if cbuf != nil {
		putScratch(cbuf)
	}
}

func convBackward[T float](g convGeom, which int, xs, ys tensor.Shape, x, wt, dy, out []T) {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	f, oh, ow := ys[1], ys[2], ys[3]
	np, k := n*oh*ow, c*g.kh*g.kw
	if mk := tiledConv[T](); mk != nil {
		cg := colGeom{convGeom: g, c: c, h: h, w: w, oh: oh, ow: ow}
		x, wt, dy, out := any(x).([]float32), any(wt).([]float32), any(dy).([]float32), any(out).([]float32)
		switch {
		case which == 1:
			convTilesGradW(mk, cg, n, f, x, dy, out)
		case g.direct():
			convTilesGradCols(mk, cg, n, f, wt, dy, out)
		case g.gradByFlip(n, oh, ow):
			convTilesGradXFlipped(mk, cg, n, f, wt, dy, out)
		default:
			dcols := getScratch[float32](k * np)
			convTilesGradCols(mk, cg, n, f, wt, dy, *dcols)
			col2im(g, n, c, h, w, oh, ow, *dcols, out)
			putScratch(dcols)
		}
		return
	}
	// dy as (F, N*P)
	dyt := dy
	var dbuf *[]T
	if n > 1 {
		dbuf = getScratch[T](f * np)
		swap01(n, f, oh*ow, dy, *dbuf)
		dyt = *dbuf
	}
	if which == 1 {
		// dw (F, K) = dy' · colsᵀ
		cols, cbuf := colsOf(g, xs, oh, ow, x)
		gemm(false, true, f, k, np, 1, dyt, np, cols, np, 0, out, k)
		if cbuf != nil {
			putScratch(cbuf)
		}
	} else {
		// dcols (K, N*P) = wᵀ · dy', then dx = col2im(dcols)
		switch {
		case g.direct() && n == 1:
			gemm(true, false, k, np, f, 1, wt, k, dyt, np, 0, out, np)
		default:
			dcols := getScratch[T](k * np)
			gemm(true, false, k, np, f, 1, wt, k, dyt, np, 0, *dcols, np)
			if g.direct() {
				swap01(c, n, h*w, *dcols, out)
			} else {
				col2im(g, n, c, h, w, oh, ow, *dcols, out)
			}
			putScratch(dcols)
		}
	}
	if dbuf != nil {
		putScratch(dbuf)
	}
}
