//go:build openblas

package layers

// OpenBLAS backend: build with -tags openblas (cgo, Debian's
// libopenblas-dev). OpenBLAS chooses its kernels when the library loads,
// from the environment variable OPENBLAS_CORETYPE or by probing the CPU;
// a program cannot change the choice once running. On CPUs that OpenBLAS
// 0.3.21 does not recognise it falls back to a slow generic kernel: run
// with OPENBLAS_CORETYPE set (for example Haswell, Zen or SkylakeX,
// whichever the CPU supports).

//
// OpenBLAS runs single-threaded here; gemm splits each product across
// GOMAXPROCS goroutines itself (OpenBLAS' own threads spin while they
// wait, and would compete with the Go code around the products).

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int);
*/
import "C"

import "unsafe"

var gemmBackend = "openblas"

var (
	// convKernel is nil: convolutions go through im2col and OpenBLAS.
	convKernel *microKernel
	sgemm      = splitGemm(openblasSgemm, 16, 16)
	dgemm      = splitGemm(openblasDgemm, 16, 16)
)

func init() { C.openblas_set_num_threads(1) }

func cTrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func openblasSgemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if k == 0 {
		gonumSgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cTrans(ta), cTrans(tb), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func openblasDgemm(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if k == 0 {
		gonumDgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, cTrans(ta), cTrans(tb), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// OpenBLAS' kernels treat the edges of a matrix differently from its
// inside, so a column's result depends on where it falls.
const batchInvariant = false
