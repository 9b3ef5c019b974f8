//go:build amd64 && !purego

package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// adamKernels runs f once for each vector kernel this CPU has, with the
// choice forced, and says which it cannot run.
func adamKernels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	save2, save512 := adamAVX2OK, adamAVX512OK
	defer func() { adamAVX2OK, adamAVX512OK = save2, save512 }()
	for _, k := range []struct {
		name     string
		has      bool
		avx512On bool
	}{{"avx2", save2, false}, {"avx512", save512, true}} {
		t.Run(k.name, func(t *testing.T) {
			if !k.has {
				t.Skipf("this CPU lacks %s: its Adam kernel is not run here", k.name)
			}
			adamAVX2OK, adamAVX512OK = true, k.avx512On
			f(t)
		})
	}
}

// TestAdamVecMatchesGo checks the vector update bit for bit against the Go
// loop, over lengths with tails, weight decay, large and tiny values, and
// a first step's bias corrections.
func TestAdamVecMatchesGo(t *testing.T) {
	adamKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, n := range []int{8, 13, 64, 1000, 4099} {
			for step, c := range []adamConsts{
				{b1: 0.9, omb1: 0.1, b2: 0.999, omb2: 1 - 0.999, bc1: 0.1, bc2: 1 - 0.999, lr: 2e-3, eps: 1e-8},
				{wd: 5e-4, b1: 0.8, omb1: 1 - 0.8, b2: 0.99, omb2: 1 - 0.99, bc1: 1 - math.Pow(0.8, 37), bc2: 1 - math.Pow(0.99, 37), lr: 0.3, eps: 1e-6},
			} {
				w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range w {
					scale := float32(math.Pow(10, float64(r.IntN(16)-8)))
					w[i] = float32(r.NormFloat64()) * scale
					g[i] = float32(r.NormFloat64()) * scale
					m[i] = float32(r.NormFloat64()) * scale * 0.1
					v[i] = float32(r.ExpFloat64()) * scale * scale
				}
				g[n/2] = 0
				w2, g2, m2, v2 := clone32(w), clone32(g), clone32(m), clone32(v)
				okGo := adamGo(w2, g2, m2, v2, &c)
				done, ok := adamVec(w, g, m, v, &c)
				if done != n&^7 {
					t.Fatalf("n %d: the vector code did %d values, want %d", n, done, n&^7)
				}
				ok = adamGo(w[done:], g[done:], m[done:], v[done:], &c) && ok
				if ok != okGo || !ok {
					t.Fatalf("n %d step %d: finite %v, Go %v (want both true)", n, step, ok, okGo)
				}
				for name, p := range map[string][2][]float32{"w": {w, w2}, "g": {g, g2}, "m": {m, m2}, "v": {v, v2}} {
					for i := range p[0] {
						if math.Float32bits(p[0][i]) != math.Float32bits(p[1][i]) {
							t.Fatalf("n %d step %d: %s[%d] = %g, the Go loop %g", n, step, name, i, p[0][i], p[1][i])
						}
					}
				}
			}
		}
	})
}

// TestAdamVecNonFinite checks that a weight made infinite or NaN by the
// update is reported, wherever it is among the vector's lanes.
func TestAdamVecNonFinite(t *testing.T) {
	adamKernels(t, func(t *testing.T) {
		c := adamConsts{b1: 0.9, omb1: 0.1, b2: 0.999, omb2: 1 - 0.999, bc1: 0.1, bc2: 1 - 0.999, lr: 1e-3, eps: 1e-8}
		for at := range 16 {
			w, g, m, v := make([]float32, 16), make([]float32, 16), make([]float32, 16), make([]float32, 16)
			for i := range g {
				g[i] = 0.5
			}
			g[at] = float32(math.Inf(1)) // m and v infinite: the step is Inf/Inf, a NaN
			if _, ok := adamVec(w, g, m, v, &c); ok {
				t.Fatalf("an infinite gradient at %d: the update reports finite weights (w[%d] = %g)", at, at, w[at])
			}
			if !math.IsNaN(float64(w[at])) {
				t.Fatalf("w[%d] = %g after an infinite gradient, want NaN as the Go loop gives", at, w[at])
			}
		}
	})
}

// TestFirstNonFinite checks the index returned for a NaN or infinity at
// every position of a vector and of its tail, and -1 without one.
func TestFirstNonFinite(t *testing.T) {
	adamKernels(t, func(t *testing.T) {
		x := make([]float32, 43)
		for i := range x {
			x[i] = float32(i) - 20
		}
		x[7] = math.MaxFloat32
		if i := firstNonFinite(x); i != -1 {
			t.Fatalf("finite values: got index %d", i)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for at := range x {
				y := clone32(x)
				y[at] = bad
				y[len(y)-1] = bad
				if i := firstNonFinite(y); i != at {
					t.Fatalf("%g at %d: got index %d", bad, at, i)
				}
			}
		}
	})
}

func clone32(x []float32) []float32 { return append([]float32(nil), x...) }
