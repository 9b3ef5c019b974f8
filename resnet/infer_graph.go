//go:build !onednn

package resnet

import (
	"fmt"

	"gorgonia.org/tensor"
)

// dnnlNets is empty without the onednn build tag: Infer runs the graph.
type dnnlNets struct{}

func (e *Encoder) inferOneDNN(*tensor.Dense, Precision) ([]float32, tensor.Shape, bool, error) {
	return nil, nil, false, nil
}

// precisionAvailable: only FP32 runs without the onednn build tag.
func precisionAvailable(p Precision) error {
	return fmt.Errorf("%w: %v inference needs the onednn build tag (go build -tags onednn, with cgo and oneDNN 2.6: Debian's libdnnl-dev)", ErrPrecisionUnavailable, p)
}
