package graphop

import (
	"runtime"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Engine is the tensor engine for tape machines (gorgonia.WithEngine):
// Gorgonia's standard engine, with the float32 addition of two tensors of
// one shape shared out among GOMAXPROCS goroutines. That addition sums a
// node's gradients when it feeds several ops, as every ResNet block's
// input does; each element is added alone, so the result is the same bits
// as the standard engine's.
var Engine tensor.Engine = engine{}

type engine struct{ G.StandardEngine }

// parAddMin is the fewest elements an addition is shared out for.
const parAddMin = 1 << 15

func (e engine) Add(a, b tensor.Tensor, opts ...tensor.FuncOpt) (tensor.Tensor, error) {
	if r := parallelAdd(a, b, opts); r != nil {
		return r, nil
	}
	return e.StdEng.Add(a, b, opts...)
}

// parallelAdd computes a+b in place of a (the unsafe option) or into the
// reuse tensor when both are contiguous float32 tensors of one shape, large
// enough to share out; it returns nil, doing nothing, otherwise.
func parallelAdd(a, b tensor.Tensor, opts []tensor.FuncOpt) tensor.Tensor {
	ad, ok1 := a.(*tensor.Dense)
	bd, ok2 := b.(*tensor.Dense)
	if !ok1 || !ok2 || ad.Dtype() != tensor.Float32 || bd.Dtype() != tensor.Float32 || !ad.Shape().Eq(bd.Shape()) ||
		ad.Size() < parAddMin || !plain(ad) || !plain(bd) {
		return nil
	}
	fo := tensor.ParseFuncOpts(opts...)
	if fo.Incr() != nil {
		return nil
	}
	dst := ad
	if r := fo.Reuse(); r != nil {
		rd, ok := r.(*tensor.Dense)
		if !ok || rd.Dtype() != tensor.Float32 || !rd.Shape().Eq(ad.Shape()) || !plain(rd) {
			return nil
		}
		dst = rd
	} else if fo.Safe() {
		return nil
	}
	x, y, z := ad.Data().([]float32), bd.Data().([]float32), dst.Data().([]float32)
	addParallel(z, x, y)
	return dst
}

// plain reports whether d's data is its own contiguous slice, in order.
func plain(d *tensor.Dense) bool {
	return !d.IsMaterializable() && d.IsNativelyAccessible() && d.DataSize() == d.Size()
}

// addParallel sets z[i] = x[i] + y[i] in chunks on GOMAXPROCS goroutines.
func addParallel(z, x, y []float32) {
	n := len(z)
	x, y = x[:n], y[:n]
	parts := min(runtime.GOMAXPROCS(0), n/(parAddMin/2))
	if parts <= 1 {
		addRange(z, x, y)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() { addRange(z[lo:hi], x[lo:hi], y[lo:hi]) })
	}
	wg.Wait()
}

func addRange(z, x, y []float32) {
	y, z = y[:len(x)], z[:len(x)]
	for i, v := range x {
		z[i] = v + y[i]
	}
}
