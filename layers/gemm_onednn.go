//go:build onednn && !openblas

package layers

// The oneDNN build's products (build tag onednn): convolutions run as
// oneDNN primitives (conv_onednn.go); other float32 products through
// dnnl_sgemm; float64 (gradient checks only) through gonum.

var gemmBackend = "onednn"

var (
	sgemm = dnnlSgemm
	dgemm = gonumDgemm
)

// oneDNN's convolution kernels block the batch and the image with sizes
// chosen per shape, so one image's result may depend on the batch it is in.
const batchInvariant = false
