package layers

// BatchNorm's passes over a channel's values, which lie in n runs of sp
// values (one per image, c·sp apart), in lanes: value j of a run goes to
// lane j%16, each lane adds its values in image order, and the lanes are
// added up in order at the end. That is the order of the vector code that
// does most of a long float32 run (vec_amd64.s); the Go loops here do the
// rest of the run, short runs and everything for float64 and without the
// vector code, lane for lane, each operation rounded on its own (the
// conversions keep the compiler from fusing them), so a result does not
// depend on which of them computed it. Sixteen independent sums also run
// faster than one in Go.
//
// The passes take blocks of channels (bnBlock) image by image, reading
// memory in order: the runs of late layers are a few values long, and a
// channel at a time would read one of them per cache line.

// bnMaxBlock is the most channels BatchNorm's passes take together, so
// that what they keep per channel fits on a goroutine's stack.
const bnMaxBlock = 64

// bnBlock returns how many channels of n runs of sp values BatchNorm's
// passes take together: about 32K values, which stay in L2 between the
// passes, and at most bnMaxBlock channels.
func bnBlock(n, sp int) int { return max(1, min(bnMaxBlock, (1<<15)/max(1, n*sp))) }

// blockStats sets mean[k] and vari[k] to the mean and biased variance of
// channel lo+k of x (n, c, sp), for channels [lo, hi), at most bnMaxBlock
// of them, summed in float64 lanes.
func blockStats[T float](x []T, n, c, sp, lo, hi int, mean, vari []float64) {
	var accs [bnMaxBlock][16]float64
	acc := accs[:hi-lo]
	for i := range n {
		for ch := lo; ch < hi; ch++ {
			sumRun(x[(i*c+ch)*sp:(i*c+ch+1)*sp], &acc[ch-lo])
		}
	}
	m := float64(n * sp)
	for k := range acc {
		mean[k] = total(&acc[k]) / m
		acc[k] = [16]float64{}
	}
	for i := range n {
		for ch := lo; ch < hi; ch++ {
			sqDevRun(x[(i*c+ch)*sp:(i*c+ch+1)*sp], mean[ch-lo], &acc[ch-lo])
		}
	}
	for k := range acc {
		vari[k] = total(&acc[k]) / m
	}
}

// sumRun adds run[j] to acc[j%16].
func sumRun[T float](run []T, acc *[16]float64) {
	done := 0
	if r32, ok := any(run).([]float32); ok && len(run) >= 16 {
		done = sumLanesVec(r32, acc)
	}
	for j := done; j < len(run); j++ {
		acc[j%16] += float64(run[j])
	}
}

// sqDevRun adds (run[j] - mean)² to acc[j%16].
func sqDevRun[T float](run []T, mean float64, acc *[16]float64) {
	done := 0
	if r32, ok := any(run).([]float32); ok && len(run) >= 16 {
		done = sqDevLanesVec(r32, mean, acc)
	}
	for j := done; j < len(run); j++ {
		d := float64(run[j]) - mean
		acc[j%16] += float64(d * d)
	}
}

// total adds up the lanes in order.
func total(acc *[16]float64) float64 {
	var s float64
	for _, v := range acc {
		s += v
	}
	return s
}

// gradRun is the most values the lanes of gradSums take before they are
// added to its float64 sums.
const gradRun = 256

// gradSums sums, over a channel's runs, d and d·(x - mean), d being dy,
// or, with y, dy where y > 0 and 0 elsewhere: in lanes of T over pieces of
// runs of at most gradRun values, the lanes added, in order, to float64
// sums (and set to 0) before a piece that would take them past gradRun
// values, and at the end.
type gradSums[T float] struct {
	lanes   [32]T
	count   int
	dy, dyx float64
	mean    T
}

// add takes one run: x, y (nil or as long as x) and dy; buf holds at
// least min(len(x), gradRun) values, for the masked dy.
func (g *gradSums[T]) add(x, y, dy, buf []T) {
	for lo := 0; lo < len(x); lo += gradRun {
		hi := min(lo+gradRun, len(x))
		if g.count+hi-lo > gradRun {
			g.flush()
		}
		g.count += hi - lo
		xs, ds := x[lo:hi], dy[lo:hi]
		var ys []T
		if y != nil {
			ys = y[lo:hi]
		}
		done := 0
		if x32, ok := any(xs).([]float32); ok && hi-lo >= 16 {
			done = gradSumsVec(x32, any(ys).([]float32), any(ds).([]float32), float32(g.mean), any(&g.lanes).(*[32]float32))
		}
		xs, ds = xs[done:], ds[done:len(xs)]
		if ys != nil {
			// masked without branches, which would go either way at random
			maskPos(ys[done:], ds, buf[:len(xs)])
			ds = buf[:len(xs)]
		}
		for j, v := range xs {
			d, l := ds[j], (done+j)%16
			g.lanes[l] += d
			g.lanes[16+l] += T(d * T(v-g.mean))
		}
	}
}

func (g *gradSums[T]) flush() {
	for l := range 16 {
		g.dy += float64(g.lanes[l])
		g.dyx += float64(g.lanes[16+l])
	}
	g.lanes, g.count = [32]T{}, 0
}

// sums returns the sums of d and d·(x - mean) over the runs added.
func (g *gradSums[T]) sums() (sdy, sdyx float64) {
	g.flush()
	return g.dy, g.dyx
}

// gradXRun sets out = (a·d + b·(x - mean)) + cc, d as in gradSums, for one
// run; x, y (nil or as long as out) and dy hold at least len(out) values.
func gradXRun[T float](x, y, dy, out []T, a, b, cc, mean T) {
	done := 0
	if o32, ok := any(out).([]float32); ok && len(out) >= 8 {
		done = bnGradXVec(any(x).([]float32), any(y).([]float32), any(dy).([]float32), o32, float32(a), float32(b), float32(cc), float32(mean))
	}
	out, x, ds := out[done:], x[done:len(out)], dy[done:len(out)]
	if y != nil {
		// the masked dy, written to out first, without branches
		maskPos(y[done:done+len(out)], ds, out)
		ds = out
	}
	for j, v := range x {
		out[j] = T(T(T(a*ds[j])+T(b*T(v-mean))) + cc)
	}
}
