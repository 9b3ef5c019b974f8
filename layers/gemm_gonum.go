//go:build !openblas

package layers

// The default build's products: float32 through this package's AVX2/FMA
// kernel where the CPU has it (amd64, without the purego tag), otherwise
// gonum's pure-Go Sgemm; float64 (gradient checks only) through gonum.

var gemmBackend = map[bool]string{true: "go-avx2", false: "gonum"}[hasAVX2FMA]

var (
	sgemm = pickSgemm()
	dgemm = gonumDgemm
)

func pickSgemm() gemmFunc[float32] {
	if hasAVX2FMA {
		return splitGemm(asmSgemm)
	}
	return gonumSgemm
}

// The Go kernels compute every output column with the same sequence of
// operations wherever it falls in the matrix.
const batchInvariant = true
