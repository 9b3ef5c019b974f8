//go:build onednn

package onednn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// TestNet runs a residual block (two convolutions, the second adding the
// block's input before its ReLU) and an average pooling against naive
// code.
func TestNet(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, c, h, w = 2, 16, 6, 5
	net, err := NewNet(n, c, h, w)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	// the input is the caller's: copy it into buffer 0 first through a
	// 1x1 identity convolution, so that the block can add into it
	in, err := net.Conv(0, 0, c, 1, 1, 1, 1, 0, 0, false, -1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := net.Conv(in, 1, c, 3, 3, 1, 1, 1, 1, true, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.Conv(a, 0, c, 3, 3, 1, 1, 1, 1, true, in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := net.Pool(b, 2, false, h, w, 1, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Output(p); err != nil {
		t.Fatal(err)
	}
	if d := net.Dims(p); d != [4]int{n, c, 1, 1} {
		t.Fatalf("pooled dims %v", d)
	}
	x := randSlice(rng, n*c*h*w)
	id := make([]float32, c*c)
	for i := range c {
		id[i*c+i] = 1
	}
	ones, zeros := make([]float32, c), make([]float32, c)
	for i := range ones {
		ones[i] = 1
	}
	w1, w2 := randSlice(rng, c*c*9), randSlice(rng, c*c*9)
	s1, t1, s2, t2 := randSlice(rng, c), randSlice(rng, c), randSlice(rng, c), randSlice(rng, c)
	out := make([]float32, n*c)
	ps := []ConvParams{{id, ones, zeros}, {w1, s1, t1}, {w2, s2, t2}}
	if err := net.Run(x, ps, out); err != nil {
		t.Fatal(err)
	}
	s := Shape{N: n, C: c, H: h, W: w, F: c, OH: h, OW: w, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1}
	y1 := naive(s, x, w1, s1, t1, true)
	y2 := naive(s, f32(y1), w2, s2, t2, false)
	for i := range out {
		var sum float64
		for k := range h * w {
			v := y2[i*h*w+k] + float64(x[i*h*w+k])
			sum += max(v, 0)
		}
		want := sum / (h * w)
		if math.Abs(float64(out[i])-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("output %d: %g, want %g", i, out[i], want)
		}
	}
	if err := net.Run(x, ps[:2], out); err == nil || !strings.HasPrefix(err.Error(), "onednn: ") {
		t.Errorf("two convolutions' parameters for three: error %v", err)
	}
	if err := net.Run(x, []ConvParams{ps[0], ps[1], {w2[1:], s2, t2}}, out); err == nil {
		t.Error("short weights: no error")
	}
	if err := net.Run(x[1:], ps, out); err == nil {
		t.Error("short input: no error")
	}
}

func f32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

func TestNetRejects(t *testing.T) {
	net, err := NewNet(1, 4, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	a, err := net.Conv(0, 0, 8, 3, 3, 1, 1, 1, 1, true, -1)
	if err != nil {
		t.Fatal(err)
	}
	// a sum that lives in another buffer
	if _, err := net.Conv(a, 1, 8, 3, 3, 1, 1, 1, 1, true, a); err == nil || !strings.HasPrefix(err.Error(), "onednn: ") {
		t.Errorf("sum in another buffer: error %v", err)
	}
}

// TestNetCleanup: nets dropped without Close are freed by the collector.
func TestNetCleanup(t *testing.T) {
	var freed int
	for range 3 {
		net, err := NewNet(1, 4, 5, 5)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := net.Conv(0, 0, 8, 3, 3, 1, 1, 1, 1, true, -1); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		runtime.GC()
		run(func() {})
		if freed = int(netsLive()); freed == 0 {
			return
		}
	}
	t.Errorf("%d nets still live after collection", freed)
}
