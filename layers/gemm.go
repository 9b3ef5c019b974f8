package layers

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The convolution's matrix products go through gemm, which dispatches to
// the build's implementation: by default this package's Go code with an
// AVX-512 or AVX2/FMA assembly kernel chosen at start (sgemm_amd64.go,
// gemm_gonum.go), or gonum's pure-Go Sgemm on other CPUs and with the
// purego build tag; OpenBLAS' cblas_sgemm and
// cblas_dgemm with the openblas build tag (gemm_openblas.go). All run on
// GOMAXPROCS goroutines.

// GemmBackend names the float32 matrix-multiply backend in use:
// "go-avx512" or "go-avx2" (the default build on amd64 CPUs with AVX-512F,
// or AVX2 and FMA), "gonum" (pure Go: other CPUs, the purego build tag or
// GOSIAMESE_GEMM=generic) or "openblas" (build tag openblas); "onednn"
// with the onednn build tag, under which float32 convolutions run as
// oneDNN primitives (conv_onednn.go) instead of products.
func GemmBackend() string {
	if convOneDNN {
		return "onednn"
	}
	return gemmBackend
}

// gemm computes c = alpha*op(a)*op(b) + beta*c for row-major matrices, op
// transposing when ta/tb: op(a) is m×k, op(b) is k×n, c is m×n.
func gemm[T float](ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch a := any(a).(type) {
	case []float32:
		sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gonumDgemm is the float64 product of the default build (float64 is used
// by the gradient checks only).
func gonumDgemm(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonum.Implementation{}.Dgemm(trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gonumSgemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonum.Implementation{}.Sgemm(trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

type gemmFunc[T float] func(ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// splitGemm makes a single-threaded gemm parallel: each of GOMAXPROCS
// goroutines computes a block of columns of c (or of rows, when c has
// more rows than columns), a multiple of colPanel columns (rowPanel rows)
// so that the kernels' panels stay whole.
func splitGemm[T float](f gemmFunc[T], rowPanel, colPanel int) gemmFunc[T] {
	return func(ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
		w := runtime.GOMAXPROCS(0)
		const minWork = 1 << 18 // multiply-adds per goroutine worth the start
		if w > 1 && m*n*k < w*minWork {
			w = max(1, m*n*k/minWork)
		}
		if w <= 1 {
			f(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
		var wg sync.WaitGroup
		byCols := n >= m
		d, panel := m, rowPanel
		if byCols {
			d, panel = n, colPanel
		}
		step := (d/w + panel - 1) / panel * panel
		for lo := 0; lo < d; lo += step {
			hi := min(d, lo+step)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if byCols {
					boff := lo // op(b) columns lo:hi
					if tb {
						boff = lo * ldb
					}
					f(ta, tb, m, hi-lo, k, alpha, a, lda, b[boff:], ldb, beta, c[lo:], ldc)
					return
				}
				aoff := lo * lda // op(a) rows lo:hi
				if ta {
					aoff = lo
				}
				f(ta, tb, hi-lo, n, k, alpha, a[aoff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
			}()
		}
		wg.Wait()
	}
}

// BatchInvariant reports whether a convolution's result for one image is
// bit-identical whatever batch it runs in and at whatever position: true
// for the Go backends, false for OpenBLAS, whose kernels treat the edges of
// a matrix differently, and for oneDNN, whose convolutions block the batch
// with sizes chosen per shape. Callers that promise the same result alone
// or in a batch (siamese scoring) run one image at a time when it is false.
func BatchInvariant() bool { return batchInvariant && !convOneDNN }
