//go:build !amd64 || purego

package layers

const hasAVX2FMA = false

func asmSgemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("layers: no assembly sgemm in this build")
}
