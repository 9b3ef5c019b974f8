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

// splitGemm makes a single-threaded gemm parallel (splitProduct).
func splitGemm[T float](f gemmFunc[T], rowPanel, colPanel int) gemmFunc[T] {
	return func(ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
		splitProduct(m, n, k, rowPanel, colPanel, func(i0, i1, j0, j1 int) {
			aoff, boff := i0*lda, j0 // op(a) rows i0:i1, op(b) columns j0:j1
			if ta {
				aoff = i0
			}
			if tb {
				boff = j0 * ldb
			}
			f(ta, tb, i1-i0, j1-j0, k, alpha, a[aoff:], lda, b[boff:], ldb, beta, c[i0*ldc+j0:], ldc)
		})
	}
}

// splitWays returns into how many blocks splitProduct cuts a product, and
// whether they are blocks of columns.
func splitWays(m, n, k, rowPanel, colPanel int) (int, bool) {
	w := runtime.GOMAXPROCS(0)
	const minWork = 1 << 18 // multiply-adds per goroutine worth the start
	if w > 1 && m*n*k < w*minWork {
		w = max(1, m*n*k/minWork)
	}
	byCols := n >= m
	d, panel := m, rowPanel
	if byCols {
		d, panel = n, colPanel
	}
	step := (d/w + panel - 1) / panel * panel
	if w <= 1 || step >= d {
		return 1, byCols
	}
	return (d + step - 1) / step, byCols
}

// splitProduct runs f on blocks of an m×n product with inner size k, one
// per goroutine of GOMAXPROCS when there is enough work to share: blocks of
// columns [j0, j1) when there are at least as many columns as rows, else of
// rows [i0, i1), each a multiple of colPanel columns (rowPanel rows) so that
// the kernels' panels stay whole.
func splitProduct(m, n, k, rowPanel, colPanel int, f func(i0, i1, j0, j1 int)) {
	w, byCols := splitWays(m, n, k, rowPanel, colPanel)
	if w <= 1 {
		f(0, m, 0, n)
		return
	}
	d, panel := m, rowPanel
	if byCols {
		d, panel = n, colPanel
	}
	step := (d/w + panel - 1) / panel * panel
	var wg sync.WaitGroup
	for lo := 0; lo < d; lo += step {
		hi := min(d, lo+step)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if byCols {
				f(0, m, lo, hi)
			} else {
				f(lo, hi, 0, n)
			}
		}()
	}
	wg.Wait()
}

// BatchInvariant reports whether a convolution's result for one image is
// bit-identical whatever batch it runs in and at whatever position: true
// for the Go backends, false for OpenBLAS, whose kernels treat the edges of
// a matrix differently, and for oneDNN, whose convolutions block the batch
// with sizes chosen per shape. Callers that promise the same result alone
// or in a batch (siamese scoring) run one image at a time when it is false.
func BatchInvariant() bool { return batchInvariant && !convOneDNN }
