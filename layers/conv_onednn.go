//go:build onednn

package layers

// The oneDNN backend: build with -tags onednn (cgo, Debian's libdnnl-dev).
// float32 convolutions, forward and both gradients, run as oneDNN
// convolution primitives (internal/onednn), which choose AVX2, AVX-512 or
// AMX kernels for the CPU at run time. Tensors stay in plain NCHW / OIHW
// layouts between ops; each primitive works in the layout oneDNN prefers
// and reorders at its boundary. An inference convolution fused with
// BatchNorm (ConvBN) folds the BatchNorm's scale into the weights while
// they are reordered, adds its shift as the convolution's bias and applies
// the ReLU as a post-op. float64 convolutions (gradient checks) take the
// Go path.

import (
	"fmt"

	"github.com/gosiamese/gosiamese/internal/onednn"
	"gorgonia.org/tensor"
)

// convOneDNN reports whether float32 convolutions run through oneDNN.
const convOneDNN = true

func dnnlShape(g convGeom, xs, ys tensor.Shape) onednn.Shape {
	return onednn.Shape{
		N: xs[0], C: xs[1], H: xs[2], W: xs[3], F: ys[1], OH: ys[2], OW: ys[3],
		KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw, PH: g.ph, PW: g.pw, DH: g.dh, DW: g.dw,
	}
}

func dnnlConv(kind onednn.Kind, g convGeom, xs, ys tensor.Shape, a, b, scale, shift, out []float32) error {
	if err := onednn.Conv(kind, dnnlShape(g, xs, ys), a, b, scale, shift, out); err != nil {
		return fmt.Errorf("layers: Conv2D(%s) %v -> %v: %w", g.desc(), xs, ys, err)
	}
	return nil
}

// convForward32 is the float32 forward convolution, with the BatchNorm
// epilogue when epi is set; oneDNN packs the weights itself, so wp is not
// used. A residual is added (and the ReLU applied) after the primitive.
func convForward32(g convGeom, xs, ys tensor.Shape, x, w, y []float32, epi *epilogue[float32], _ *weightPanels) error {
	switch {
	case epi == nil:
		return dnnlConv(onednn.Forward, g, xs, ys, x, w, nil, nil, y)
	case epi.res != nil:
		if err := dnnlConv(onednn.ForwardAffine, g, xs, ys, x, w, epi.scale, epi.shift, y); err != nil {
			return err
		}
		if epi.relu {
			addReLUKernel(y, epi.res, y)
			return nil
		}
		for i, r := range epi.res {
			y[i] += r
		}
		return nil
	case epi.relu:
		return dnnlConv(onednn.ForwardAffineReLU, g, xs, ys, x, w, epi.scale, epi.shift, y)
	}
	return dnnlConv(onednn.ForwardAffine, g, xs, ys, x, w, epi.scale, epi.shift, y)
}

// convBackward32 is convBackward for float32: which 0 is the gradient with
// respect to x, 1 with respect to w.
func convBackward32(g convGeom, which int, xs, ys tensor.Shape, x, w, dy, out []float32) error {
	if which == 0 {
		return dnnlConv(onednn.BackwardData, g, xs, ys, w, dy, nil, nil, out)
	}
	return dnnlConv(onednn.BackwardWeights, g, xs, ys, x, dy, nil, nil, out)
}
