package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// sgemmPaths lists every float32 product this build can run: the build's
// choice (GemmBackend, GOSIAMESE_GEMM honoured), gonum's generic Sgemm, and
// each assembly kernel, alone and split across goroutines. A kernel whose
// instructions the CPU lacks is listed with a nil function.
func sgemmPaths() []struct {
	name string
	f    gemmFunc[float32]
} {
	paths := []struct {
		name string
		f    gemmFunc[float32]
	}{{"build-" + GemmBackend(), sgemm}, {"generic", gonumSgemm}}
	for _, k := range asmKernels {
		var one, split gemmFunc[float32]
		if k.usable {
			one = blockedSgemm(k)
			split = splitGemm(one, k.mr, k.nr)
		}
		paths = append(paths, struct {
			name string
			f    gemmFunc[float32]
		}{k.name, one}, struct {
			name string
			f    gemmFunc[float32]
		}{k.name + "-split", split})
	}
	return paths
}

// TestGemm checks every transpose combination and odd sizes (split across
// goroutines or not, several blocks of each dimension, c a window of a
// wider matrix) against a naive product, on every path of the build
// (sgemmPaths).
func TestGemm(t *testing.T) {
	cases := gemmCases()
	for _, p := range sgemmPaths() {
		t.Run(p.name, func(t *testing.T) {
			if p.f == nil {
				t.Skipf("the CPU lacks the instructions of the %s kernel", p.name)
			}
			for _, tc := range cases {
				c := make([]float32, tc.m*tc.ldc)
				for i := range c {
					c[i] = 1
				}
				p.f(tc.ta, tc.tb, tc.m, tc.n, tc.k, 2, tc.a, tc.lda, tc.b, tc.ldb, 0.5, c, tc.ldc)
				for i, want := range tc.want {
					if got := float64(c[i]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("%dx%dx%d ta=%v tb=%v: c[%d,%d] = %g, want %g", tc.m, tc.n, tc.k, tc.ta, tc.tb, i/tc.ldc, i%tc.ldc, got, want)
					}
				}
			}
		})
	}
}

// gemmCase is c = 2*op(a)*op(b) + 0.5*c with c all ones before; want is
// the naive float64 result (ones beyond column n, which must stay).
type gemmCase struct {
	ta, tb                 bool
	m, n, k, lda, ldb, ldc int
	a, b                   []float32
	want                   []float64
}

func gemmCases() []gemmCase {
	rng := rand.New(rand.NewPCG(1, 1))
	var cases []gemmCase
	for _, sz := range [][3]int{{3, 5, 7}, {8, 32, 1}, {67, 300, 129}, {300, 67, 129}, {513, 1025, 64}, {75, 4100, 300}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, b := make([]float32, m*k), make([]float32, k*n)
		for i := range a {
			a[i] = rng.Float32() - 0.5
		}
		for i := range b {
			b[i] = rng.Float32() - 0.5
		}
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				tc := gemmCase{ta: ta, tb: tb, m: m, n: n, k: k, lda: k, ldb: n, ldc: n + 3, a: a, b: b}
				if ta {
					tc.lda = m
				}
				if tb {
					tc.ldb = k
				}
				tc.want = make([]float64, m*tc.ldc)
				for i := range m {
					for j := range tc.ldc {
						if j >= n {
							tc.want[i*tc.ldc+j] = 1
							continue
						}
						var s float64
						for p := range k {
							av, bv := a[i*k+p], b[p*n+j]
							if ta {
								av = a[p*m+i]
							}
							if tb {
								bv = b[j*k+p]
							}
							s += float64(av) * float64(bv)
						}
						tc.want[i*tc.ldc+j] = 2*s + 0.5
					}
				}
				cases = append(cases, tc)
			}
		}
	}
	return cases
}

// TestBatchInvariantKernels checks that a column of the product does not
// depend on where it lies in the matrix (an edge tile or a full one) or
// on how many columns there are, for every path of the build: the promise
// BatchInvariant makes for the Go backends.
func TestBatchInvariantKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const m, k = 67, 300
	a := make([]float32, m*k)
	for i := range a {
		a[i] = rng.Float32() - 0.5
	}
	col := make([]float32, k)
	for i := range col {
		col[i] = rng.Float32() - 0.5
	}
	for _, p := range sgemmPaths() {
		t.Run(p.name, func(t *testing.T) {
			if p.f == nil {
				t.Skipf("the CPU lacks the instructions of the %s kernel", p.name)
			}
			if strings.HasPrefix(p.name, "build-") && !BatchInvariant() {
				t.Skipf("the %s backend says it is not batch invariant", GemmBackend())
			}
			var ref []float32
			for _, n := range []int{1, 5, 16, 33, 100} {
				for _, at := range []int{0, n - 1, n / 2} {
					b := make([]float32, k*n)
					for i := range b {
						b[i] = float32(i%13) - 6
					}
					for p := range k {
						b[p*n+at] = col[p]
					}
					c := make([]float32, m*n)
					p.f(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
					got := make([]float32, m)
					for i := range m {
						got[i] = c[i*n+at]
					}
					if ref == nil {
						ref = got
						continue
					}
					for i := range m {
						if got[i] != ref[i] {
							t.Fatalf("n=%d, column %d: row %d = %g, alone %g", n, at, i, got[i], ref[i])
						}
					}
				}
			}
		})
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, p := range sgemmPaths() {
		if p.f == nil {
			continue
		}
		for _, sz := range [][3]int{{256, 8192, 576}, {1024, 1024, 1024}, {64, 65536, 64}} {
			m, n, k := sz[0], sz[1], sz[2]
			x, y, z := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			for i := range y {
				y[i] = float32(i%5) - 2
			}
			b.Run(fmt.Sprint(p.name, "/", m, "x", n, "x", k), func(b *testing.B) {
				for range b.N {
					p.f(false, false, m, n, k, 1, x, k, y, n, 0, z, n)
				}
				b.ReportMetric(float64(2*m*n*k*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
