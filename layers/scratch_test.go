package layers

import "testing"

// TestScratch: a buffer given back is handed out again for any size it
// holds (the smallest that fits), survives a garbage collection, and the
// list never holds more than scratchMaxBytes.
func TestScratch(t *testing.T) {
	l := scratchList[float64]()
	l.mu.Lock()
	saved := l.bufs
	l.bufs, l.bytes = nil, 0
	l.mu.Unlock()
	defer func() { l.bufs, l.bytes = saved, 0 }()

	small, big := getScratch[float64](100), getScratch[float64](1000)
	putScratch(big)
	putScratch(small)
	if got := getScratch[float64](50); got != small || len(*got) != 50 {
		t.Fatalf("a request for 50 got a buffer of capacity %d, want the 100 one", cap(*got))
	}
	if got := getScratch[float64](101); got != big || len(*got) != 101 {
		t.Fatalf("a request for 101 got a buffer of capacity %d, want the 1000 one", cap(*got))
	}
	if got := getScratch[float64](1); got == small || got == big {
		t.Fatal("a buffer was handed out twice")
	}
	n := scratchMaxBytes / 8 / 3
	for range 5 {
		putScratch(getScratch[float64](n))
		b := make([]float64, n)
		putScratch(&b)
	}
	if l.bytes > scratchMaxBytes {
		t.Fatalf("the list holds %d bytes, more than %d", l.bytes, scratchMaxBytes)
	}
	sum := 0
	for _, b := range l.bufs {
		sum += cap(*b) * 8
	}
	if sum != l.bytes {
		t.Fatalf("the list counts %d bytes, its buffers hold %d", l.bytes, sum)
	}
}
