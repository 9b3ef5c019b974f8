//go:build !amd64 || purego || openblas

package layers

// Without vector code (other CPUs, the purego tag, and the openblas tag,
// whose cgo rules out Go assembly in this package) the Go loops do every
// element (see vec_amd64.go).

func affineVec(dst, src, res []float32, scale, shift float32, relu bool) int { return 0 }

func reluVec(s []float32) int { return 0 }

func maskPosVec(y, dy, out []float32) int { return 0 }
