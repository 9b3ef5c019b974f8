//go:build !onednn

package layers

import "gorgonia.org/tensor"

// convOneDNN reports whether float32 convolutions run through oneDNN.
const convOneDNN = false

// Without the onednn build tag, float32 convolutions take the Go path
// (im2col and gemm) as float64 ones do.

func convForward32(g convGeom, xs, ys tensor.Shape, x, w, y []float32, epi *epilogue[float32], wp *weightPanels) error {
	convForward(g, xs, ys, x, w, y, epi, wp)
	return nil
}

func convBackward32(g convGeom, which int, xs, ys tensor.Shape, x, w, dy, out []float32) error {
	convBackward(g, which, xs, ys, x, w, dy, out)
	return nil
}
