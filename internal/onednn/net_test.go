//go:build onednn

package onednn

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestNet runs a residual block (two convolutions, the second adding the
// block's input before its ReLU) and an average pooling against naive
// code.
func TestNet(t *testing.T) {
	got, want := netBlock(t, F32)
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-4*(1+math.Abs(want[i])) {
			t.Fatalf("output %d: %g, want %g", i, got[i], want[i])
		}
	}
}

// TestNetBF16 runs TestNet's block in bfloat16 where the CPU has native
// bfloat16: each output within 2% of the block's scale of the float64
// reference (bfloat16 keeps 8 significant bits, a relative step of 2^-8),
// convolutions run by bfloat16 kernels, and the outputs not those of
// float32 (the net really rounds).
func TestNetBF16(t *testing.T) {
	if err := BF16Supported(); err != nil {
		if errors.Is(err, ErrNoBF16) && os.Getenv("GOSIAMESE_REQUIRE_BF16") != "1" {
			t.Skipf("skipped: %v (GOSIAMESE_REQUIRE_BF16=1 makes this a failure)", err)
		}
		t.Fatal(err)
	}
	got, want := netBlock(t, BF16)
	var scale, worst float64
	for i := range want {
		scale = max(scale, math.Abs(want[i]))
		worst = max(worst, math.Abs(got[i]-want[i]))
	}
	if worst > 0.02*scale {
		t.Errorf("max |bf16 - float64| = %.3g, scale %.3g: over 2%%", worst, scale)
	}
	if worst < 1e-6*scale {
		t.Errorf("max |bf16 - float64| = %.3g at scale %.3g: as close as float32, so the net did not round to bf16", worst, scale)
	}
	t.Logf("max |bf16 - float64| / scale = %.3g", worst/scale)
}

// netBlock builds and runs TestNet's block in data type dt, returning the
// net's outputs and the float64 reference's.
func netBlock(t *testing.T, dt DataType) (got, want []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	const n, c, h, w = 2, 16, 6, 5
	net, err := NewNet(n, c, h, w, dt)
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
	p, err := net.Pool(b, 2, false, h, w, 1, 1, 0, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Output(p); err != nil {
		t.Fatal(err)
	}
	if d := net.Dims(p); d != [4]int{n, c, 1, 1} {
		t.Fatalf("pooled dims %v", d)
	}
	impls := net.Impls()
	for i, name := range impls[:3] {
		if dt == BF16 && !strings.Contains(name, "bf16") || strings.HasPrefix(name, "ref") {
			t.Errorf("%v convolution %d runs %q", dt, i, name)
		}
	}
	t.Logf("%v implementations: %q", dt, impls)
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
		want = append(want, sum/(h*w))
		got = append(got, float64(out[i]))
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
	return got, want
}

func f32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

func TestNetRejects(t *testing.T) {
	net, err := NewNet(1, 4, 5, 5, F32)
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
		net, err := NewNet(1, 4, 5, 5, F32)
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
