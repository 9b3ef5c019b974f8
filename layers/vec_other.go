//go:build !amd64 || purego || openblas

package layers

// Without vector code (other CPUs, the purego tag, and the openblas tag,
// whose cgo rules out Go assembly in this package) the Go loops do every
// element (see vec_amd64.go).

func affineVec(dst, src, res []float32, scale, shift float32, relu bool) int { return 0 }

func reluVec(s []float32) int { return 0 }

func maskPosVec(y, dy, out []float32) int { return 0 }

func sumLanesVec(x []float32, acc *[16]float64) int { return 0 }

func sqDevLanesVec(x []float32, mean float64, acc *[16]float64) int { return 0 }

func gradSumsVec(x, y, dy []float32, mean float32, lanes *[32]float32) int { return 0 }

func bnGradXVec(x, y, dy, out []float32, a, b, c, mean float32) int { return 0 }

// vecAVX2 is false: this build has no vector code.
const vecAVX2 = false

const maxPoolVec = false

// maxPoolAVX512 is never read: no vector pooling in this build.
var maxPoolAVX512 = false

func maxPoolRowVec(x []float32, h, w, i int, y []float32) {}

func copyRows32(dst, src []float32, n, stride int) {
	for r := range n {
		copy(dst[r*32:r*32+32], src[r*stride:r*stride+32])
	}
}

func copyRows8(dst, src []float32, n, stride int) {
	for r := range n {
		copy(dst[r*8:r*8+8], src[r*stride:r*stride+8])
	}
}

func transpose8(dst, src []float32, n, stride int) int { return 0 }
