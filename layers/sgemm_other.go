//go:build !amd64 || purego || openblas

package layers

// This build has no assembly kernels: gonum's Sgemm does the products.
var asmKernels []*microKernel

// kernelEpi is never called: no kernel of this build applies an epilogue.
func kernelEpi(k int, a, b, c *float32, ldc int, add bool, e *tileEpi) {
	panic("layers: no kernel with an epilogue in this build")
}
