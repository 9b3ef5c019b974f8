//go:build onednn

package resnet

import (
	"runtime"
	"testing"

	"gorgonia.org/tensor"
)

// TestInferNetsBounded: under the onednn tag Infer keeps at most
// MaxInferGraphs oneDNN nets whatever shapes it is given, and a shape
// whose net was dropped gives the same bits when built again.
func TestInferNetsBounded(t *testing.T) {
	checkInferCacheBounded(t, func(e *Encoder) int { return e.dnnl.nets.Len() }, func(e *Encoder, x *tensor.Dense) bool {
		s := x.Shape()
		_, ok := e.dnnl.nets.Get(dnnlKey{shape: [4]int{s[0], s[1], s[2], s[3]}, nthr: runtime.GOMAXPROCS(0), prec: FP32})
		return ok
	})
}
