package layers

import (
	"slices"
	"sync"
)

// Scratch buffers (packed panels, column matrices) are kept in a free list
// of each element type and reused across ops and runs. Unlike a sync.Pool,
// which the garbage collector empties, the list keeps them, so a training
// step in steady state allocates none; it holds at most scratchMaxBytes,
// dropping the smallest buffers first when it is full.
const scratchMaxBytes = 256 << 20

type freeList[T float] struct {
	mu    sync.Mutex
	bufs  []*[]T // by capacity, smallest first
	bytes int
}

var (
	scratch32 freeList[float32]
	scratch64 freeList[float64]
)

func scratchList[T float]() *freeList[T] {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(&scratch32).(*freeList[T])
	}
	return any(&scratch64).(*freeList[T])
}

func sizeOf[T float]() int {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return 4
	}
	return 8
}

// getScratch returns a buffer of n elements (contents undefined); give it
// back with putScratch.
func getScratch[T float](n int) *[]T {
	l := scratchList[T]()
	l.mu.Lock()
	// the smallest buffer that holds n
	i, _ := slices.BinarySearchFunc(l.bufs, n, func(b *[]T, n int) int { return cap(*b) - n })
	if i < len(l.bufs) {
		b := l.bufs[i]
		l.bufs = slices.Delete(l.bufs, i, i+1)
		l.bytes -= cap(*b) * sizeOf[T]()
		l.mu.Unlock()
		*b = (*b)[:n]
		return b
	}
	l.mu.Unlock()
	b := make([]T, n)
	return &b
}

func putScratch[T float](b *[]T) {
	l := scratchList[T]()
	size := cap(*b) * sizeOf[T]()
	if size > scratchMaxBytes {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.bytes+size > scratchMaxBytes && len(l.bufs) > 0 && cap(*l.bufs[0]) <= cap(*b) {
		l.bytes -= cap(*l.bufs[0]) * sizeOf[T]()
		l.bufs = l.bufs[1:]
	}
	if l.bytes+size > scratchMaxBytes {
		return
	}
	i, _ := slices.BinarySearchFunc(l.bufs, cap(*b), func(x *[]T, c int) int { return cap(*x) - c })
	l.bufs = slices.Insert(l.bufs, i, b)
	l.bytes += size
}
