//go:build !amd64 || purego || openblas

package layers

// This build has no assembly kernels: gonum's Sgemm does the products.
var asmKernels []*microKernel
