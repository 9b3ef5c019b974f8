//go:build !amd64 || purego

package train

// Without vector code (other CPUs, the purego tag) the Go loops do every
// element (see adam_amd64.go).

const adamAVX2OK, adamAVX512OK = false, false

func adamVec(w, g, m, v []float32, c *adamConsts) (int, bool) { return 0, true }

func nonFiniteVec(x []float32) (int, bool) { return 0, false }
