//go:build !openblas

package layers

import (
	"fmt"
	"os"
)

// The default build's products: float32 through this package's assembly
// kernels where the CPU has the instructions (amd64, without the purego
// tag), otherwise gonum's pure-Go Sgemm; float64 (gradient checks only)
// through gonum.
//
// The environment variable GOSIAMESE_GEMM, read once at start, overrides
// the choice: "generic" forces gonum's Sgemm, a kernel name ("avx512",
// "avx2") forces that kernel if the CPU can run it. Tests use it to run the
// slower paths on any machine.

// GemmEnv is the environment variable that overrides the choice of float32
// matrix-multiply kernel.
const GemmEnv = "GOSIAMESE_GEMM"

var (
	sgemmKernel = pickKernel(os.Getenv(GemmEnv))
	gemmBackend = backendName(sgemmKernel)
	sgemm       = sgemmFor(sgemmKernel)
	dgemm       = gonumDgemm
	// convKernel, when set, runs float32 convolutions as tile jobs that
	// pack straight from the images (convtiles.go).
	convKernel = sgemmKernel
)

// pickKernel returns the kernel named by want ("" for the widest usable
// one), or nil for gonum's Sgemm. An unknown or unusable name falls back to
// the automatic choice with a warning on standard error, since the
// variable is read before any caller could be told.
func pickKernel(want string) *microKernel {
	if want == "generic" {
		return nil
	}
	for _, k := range asmKernels {
		if k.name == want && k.usable {
			return k
		}
	}
	if want != "" {
		fmt.Fprintf(os.Stderr, "layers: %s=%q: not a kernel this CPU and build can run; choosing automatically\n", GemmEnv, want)
	}
	for _, k := range asmKernels {
		if k.usable {
			return k
		}
	}
	return nil
}

func backendName(k *microKernel) string {
	if k == nil {
		return "gonum"
	}
	return "go-" + k.name
}

func sgemmFor(k *microKernel) gemmFunc[float32] {
	if k == nil {
		return gonumSgemm
	}
	return splitGemm(blockedSgemm(k), k.mr, k.nr)
}

// The Go kernels compute every output column with the same sequence of
// operations wherever it falls in the matrix.
const batchInvariant = true
