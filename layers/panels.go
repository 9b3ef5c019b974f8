package layers

import (
	"hash/maphash"
	"sync"
	"unsafe"
)

// Weights packed once for many runs. An inference graph runs its
// convolutions again and again with the same weights, and packing them
// into the kernel's panels (packA) is a large part of a run where a layer
// has few output positions (late stages, small images, small batches).
// weightPanels keeps a parameter's weights packed whole (packWhole) and
// packs them again only when they change.
//
// Parameters are plain tensors that optimisers, loaders and callers write
// in place, so no flag or counter could say reliably that they changed:
// each run hashes the weights (hash/maphash, a few GB/s per core, far less
// than packing them) and packs again when the hash differs from the one
// the panels were packed from. A change that keeps the 64-bit hash, with
// odds of 2⁻⁶⁴, is the only one a run would miss.

// weightPanels is the packed copy of one parameter's weights, shared by
// the inference graphs the parameter is bound to.
type weightPanels struct {
	mu   sync.RWMutex // held for reading while a run reads data
	mk   *microKernel
	m, k int
	sum  uint64
	data []float32
}

var (
	panelsMu   sync.Mutex // guards Param.panels
	panelsSeed = maphash.MakeSeed()
)

// weightPanels returns p's packed weights, made on first use.
func (p *Param) weightPanels() *weightPanels {
	panelsMu.Lock()
	defer panelsMu.Unlock()
	if p.panels == nil {
		p.panels = new(weightPanels)
	}
	return p.panels
}

// get returns w (m×k, row-major) packed whole for mk, packing it when it
// is not what the panels hold, and a function to call once the product
// that reads them is done; until then the panels do not change.
func (wp *weightPanels) get(mk *microKernel, m, k int, w []float32) ([]float32, func()) {
	sum := hashFloats(w[:m*k])
	for {
		wp.mu.RLock()
		if wp.holds(mk, m, k, sum) {
			return wp.data, wp.mu.RUnlock
		}
		wp.mu.RUnlock()
		wp.mu.Lock()
		if !wp.holds(mk, m, k, sum) {
			size := mk.packedSize(m, k)
			if cap(wp.data) < size {
				wp.data = make([]float32, size)
			}
			wp.data = wp.data[:size]
			mk.packWhole(m, k, packWeights(k, w), wp.data)
			wp.mk, wp.m, wp.k, wp.sum = mk, m, k, sum
		}
		wp.mu.Unlock()
	}
}

// holds reports whether the panels are weights of m×k with hash sum,
// packed for mk.
func (wp *weightPanels) holds(mk *microKernel, m, k int, sum uint64) bool {
	return wp.mk == mk && wp.m == m && wp.k == k && wp.sum == sum && wp.data != nil
}

// packWeights packs blocks of w (rows of k values) as the left operand.
func packWeights(k int, w []float32) func(mr, mc, kc, i0, p0 int, dst []float32) {
	return func(mr, mc, kc, i0, p0 int, dst []float32) { packA(false, mr, mc, kc, i0, p0, 1, w, k, dst) }
}

// hashFloats returns a hash of v's bits, computed in pieces on
// GOMAXPROCS goroutines when v is large.
func hashFloats(v []float32) uint64 {
	if len(v) == 0 {
		return 0
	}
	const piece = 1 << 16
	n := (len(v) + piece - 1) / piece
	if n == 1 {
		return maphash.Bytes(panelsSeed, floatBytes(v))
	}
	sums := make([]uint64, n)
	parallelFor(n, piece, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sums[i] = maphash.Bytes(panelsSeed, floatBytes(v[i*piece:min(len(v), (i+1)*piece)]))
		}
	})
	return maphash.Bytes(panelsSeed, unsafe.Slice((*byte)(unsafe.Pointer(&sums[0])), 8*n))
}

func floatBytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
