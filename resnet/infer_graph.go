//go:build !onednn

package resnet

import "gorgonia.org/tensor"

// dnnlNets is empty without the onednn build tag: Infer runs the graph.
type dnnlNets struct{}

func (e *Encoder) inferOneDNN(*tensor.Dense) ([]float32, tensor.Shape, bool, error) {
	return nil, nil, false, nil
}
