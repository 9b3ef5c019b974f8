package train

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gosiamese/gosiamese/layers"
	"gorgonia.org/tensor"
)

// Optimizer names an update rule with its settings. Zero fields take the
// documented defaults.
type Optimizer struct {
	// Kind is the update rule; default Adam.
	Kind OptimizerKind
	// LearningRate is the base step size; default 1e-4 (the Keras
	// original's Adam) for Adam, 1e-2 for SGD.
	LearningRate float64
	// Beta1 and Beta2 are Adam's moment decays; defaults 0.9 and 0.999.
	Beta1, Beta2 float64
	// Epsilon is Adam's denominator guard; default 1e-8 (PyTorch's).
	Epsilon float64
	// WeightDecay adds WeightDecay*w to each gradient (L2, as
	// torch.optim.Adam and SGD do); default 0.
	WeightDecay float64
	// Momentum is SGD's momentum; default 0.9.
	Momentum float64
}

// WithDefaults returns o with zero fields replaced by their defaults.
func (o Optimizer) WithDefaults() Optimizer {
	if o.Kind == "" {
		o.Kind = Adam
	}
	if o.LearningRate == 0 {
		o.LearningRate = 1e-4
		if o.Kind == SGD {
			o.LearningRate = 1e-2
		}
	}
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.999
	}
	if o.Epsilon == 0 {
		o.Epsilon = 1e-8
	}
	if o.Momentum == 0 {
		o.Momentum = 0.9
	}
	return o
}

// Validate reports what is wrong with o (after defaults), or nil.
func (o Optimizer) Validate() error {
	d := o.WithDefaults()
	switch {
	case d.Kind != Adam && d.Kind != SGD:
		return fmt.Errorf("train: optimizer %q (want adam or sgd)", o.Kind)
	case !(d.LearningRate > 0):
		return fmt.Errorf("train: learning rate %g", o.LearningRate)
	case d.Beta1 < 0 || d.Beta1 >= 1 || d.Beta2 < 0 || d.Beta2 >= 1:
		return fmt.Errorf("train: Adam betas %g, %g outside [0, 1)", o.Beta1, o.Beta2)
	case d.Epsilon < 0 || d.WeightDecay < 0 || d.Momentum < 0 || d.Momentum >= 1:
		return fmt.Errorf("train: epsilon %g, weight decay %g, momentum %g", o.Epsilon, o.WeightDecay, o.Momentum)
	}
	return nil
}

// optimizer applies o to a fixed list of parameters. Its state (moments,
// step count) is saved in checkpoints.
type optimizer struct {
	o      Optimizer
	params []*layers.Param // model names
	m, v   [][]float32     // Adam moments, or SGD velocity in m
	t      int             // updates done
	chunks []optRange      // the work of step, in pieces for the goroutines
}

func newOptimizer(o Optimizer, params []*layers.Param) *optimizer {
	opt := &optimizer{o: o.WithDefaults(), params: params}
	for k, p := range params {
		n := p.Value.Shape().TotalSize()
		for lo := 0; lo < n; lo += optChunk {
			opt.chunks = append(opt.chunks, optRange{k, lo, min(lo+optChunk, n)})
		}
		opt.m = append(opt.m, make([]float32, n))
		if opt.o.Kind == Adam {
			opt.v = append(opt.v, make([]float32, n))
		}
	}
	return opt
}

// step updates every parameter in place from its gradient, with learning
// rate lr, and zeroes the gradients for the next step. Arithmetic is in
// float64 per element, stored in float32. The elements are shared out in
// chunks among GOMAXPROCS goroutines; each is updated on its own, so the
// result is the same for any number of them. It reports whether every
// updated weight is finite.
func (opt *optimizer) step(grads [][]float32, lr float64) (finite bool) {
	opt.t++
	o := opt.o
	bc1 := 1 - math.Pow(o.Beta1, float64(opt.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(opt.t))
	var next atomic.Int64
	var bad atomic.Bool
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= len(opt.chunks) {
				return
			}
			if !opt.update(opt.chunks[c], grads, lr, bc1, bc2) {
				bad.Store(true)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(opt.chunks)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return !bad.Load()
}

// optChunk is the number of elements a goroutine of step takes at a time.
const optChunk = 1 << 15

// optRange is the elements [lo, hi) of parameter k.
type optRange struct{ k, lo, hi int }

// update applies the step to one chunk and zeroes its gradient; it
// reports whether the updated weights are finite.
func (opt *optimizer) update(r optRange, grads [][]float32, lr, bc1, bc2 float64) bool {
	o := opt.o
	w, g, m := opt.params[r.k].Float32s()[r.lo:r.hi], grads[r.k][r.lo:r.hi], opt.m[r.k][r.lo:r.hi]
	// zero stays 0 while every weight is finite: Inf*0 and NaN*0 are NaN.
	var zero float32
	if o.Kind == SGD {
		for i := range w {
			gi := float64(g[i]) + o.WeightDecay*float64(w[i])
			mi := o.Momentum*float64(m[i]) + gi
			m[i], g[i] = float32(mi), 0
			w[i] = float32(float64(w[i]) - lr*mi)
			zero += w[i] * 0
		}
		return zero == 0
	}
	v := opt.v[r.k][r.lo:r.hi]
	c := adamConsts{wd: o.WeightDecay, b1: o.Beta1, omb1: 1 - o.Beta1, b2: o.Beta2, omb2: 1 - o.Beta2, bc1: bc1, bc2: bc2, lr: lr, eps: o.Epsilon}
	done, finite := adamVec(w, g, m, v, &c)
	return adamGo(w[done:], g[done:], m[done:], v[done:], &c) && finite
}

// adamConsts are the numbers of one Adam step (adam_amd64.s reads them by
// offset): the decays, their complements, the bias corrections 1-β₁ᵗ and
// 1-β₂ᵗ, the learning rate and ε.
type adamConsts struct{ wd, b1, omb1, b2, omb2, bc1, bc2, lr, eps float64 }

// adamGo applies Adam's update to w from g with moments m and v, and zeroes
// g; it reports whether the new weights are finite. Each operation is in
// float64 and rounded on its own (the conversions forbid fused
// multiply-adds), so the vector code (adamVec) can match it bit for bit.
func adamGo(w, g, m, v []float32, c *adamConsts) bool {
	v, m, g = v[:len(w)], m[:len(w)], g[:len(w)]
	// zero stays 0 while every weight is finite: Inf*0 and NaN*0 are NaN.
	var zero float32
	for i := range w {
		gi := float64(g[i]) + float64(c.wd*float64(w[i]))
		mi := float64(c.b1*float64(m[i])) + float64(c.omb1*gi)
		vi := float64(c.b2*float64(v[i])) + float64(float64(c.omb2*gi)*gi)
		m[i], v[i], g[i] = float32(mi), float32(vi), 0
		w[i] = float32(float64(w[i]) - float64(c.lr*(mi/c.bc1))/(math.Sqrt(vi/c.bc2)+c.eps))
		zero += w[i] * 0
	}
	return zero == 0
}

// optStatePrefix starts the names of the optimizer's tensors in a
// checkpoint.
const optStatePrefix = "train.opt."

// state returns the optimizer's tensors for a checkpoint, named
// "train.opt.m.<param>" and "train.opt.v.<param>"; the values share memory
// with the optimizer.
func (opt *optimizer) state() []*layers.Param {
	var ps []*layers.Param
	wrap := func(kind string, k int, d []float32) *layers.Param {
		p := opt.params[k]
		return &layers.Param{Name: optStatePrefix + kind + "." + p.Name, Value: tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.WithBacking(d))}
	}
	for k := range opt.params {
		ps = append(ps, wrap("m", k, opt.m[k]))
		if opt.v != nil {
			ps = append(ps, wrap("v", k, opt.v[k]))
		}
	}
	return ps
}
