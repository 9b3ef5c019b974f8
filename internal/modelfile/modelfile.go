// Package modelfile tells the example programs' two kinds of weight file
// apart, so that one given where the other belongs gets a short hint
// instead of a list of tensors that do not fit: a Siamese model file
// (written by examples/train or siamese.Model.Save, metadata format
// siamese.FormatName) for -model, and an encoder's bare weights (such as a
// torchvision ResNet's in safetensors form) for -weights.
package modelfile

import (
	"errors"
	"fmt"

	"github.com/gosiamese/gosiamese/safetensors"
	"github.com/gosiamese/gosiamese/siamese"
)

// Load is siamese.Load, whose error for a safetensors file without a
// model's metadata says it holds weights for -weights. That error still
// wraps siamese.ErrNotModel.
func Load(path string) (*siamese.Model, error) {
	m, err := siamese.Load(path)
	if errors.Is(err, siamese.ErrNotModel) && !errors.Is(err, safetensors.ErrNotSafetensors) {
		return nil, fmt.Errorf("%s is %w but bare network weights (no %q metadata), such as an encoder's for train -weights or embed -weights; -model takes a model written by train, such as OUT/best.safetensors",
			path, siamese.ErrNotModel, siamese.FormatName)
	}
	return m, err
}

// CheckWeights returns an error when path is a Siamese model file, given
// where an encoder's weights belong; otherwise nil, leaving any other
// problem to the loader.
func CheckWeights(path string) error {
	if _, err := siamese.ReadHeader(path); err == nil {
		return fmt.Errorf("%s is a Siamese model file (written by train), not an encoder's weights: compare, oneshot and embed take it with -model", path)
	}
	return nil
}
