package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemm checks every transpose combination and odd sizes (split across
// goroutines or not, several blocks of each dimension) against a naive
// product, with the backend of the build (GemmBackend).
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][3]int{{3, 5, 7}, {67, 300, 129}, {300, 67, 129}, {513, 1025, 64}, {75, 4100, 300}} {
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
				at := func(i, p int) float32 {
					if ta {
						return a[p*m+i]
					}
					return a[i*k+p]
				}
				bt := func(p, j int) float32 {
					if tb {
						return b[j*k+p]
					}
					return b[p*n+j]
				}
				lda, ldb := k, n
				if ta {
					lda = m
				}
				if tb {
					ldb = k
				}
				c := make([]float32, m*n)
				for i := range c {
					c[i] = 1
				}
				gemm(ta, tb, m, n, k, 2, a, lda, b, ldb, 0.5, c, n)
				for i := range m {
					for j := range n {
						var s float64
						for p := range k {
							s += float64(at(i, p)) * float64(bt(p, j))
						}
						if want := 2*s + 0.5; math.Abs(float64(c[i*n+j])-want) > 1e-4*(1+math.Abs(want)) {
							t.Fatalf("%v ta=%v tb=%v: c[%d,%d] = %g, want %g", sz, ta, tb, i, j, c[i*n+j], want)
						}
					}
				}
			}
		}
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, sz := range [][3]int{{256, 8192, 576}, {1024, 1024, 1024}, {64, 65536, 64}} {
		m, n, k := sz[0], sz[1], sz[2]
		x, y, z := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		for i := range y {
			y[i] = float32(i%5) - 2
		}
		b.Run(fmt.Sprint(m, "x", n, "x", k), func(b *testing.B) {
			for range b.N {
				gemm(false, false, m, n, k, 1, x, k, y, n, 0, z, n)
			}
			b.ReportMetric(float64(2*m*n*k*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
