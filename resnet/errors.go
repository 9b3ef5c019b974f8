package resnet

import "github.com/gosiamese/gosiamese/layers"

// ErrArchitecture is wrapped by LoadFile's error when the file's tensors
// do not fit the encoder: weights of another depth or width, a tensor
// missing or left over. It is layers.ErrMismatch, so either name matches
// with errors.Is. A file that is not safetensors, or a damaged one, wraps
// safetensors.ErrNotSafetensors or safetensors.ErrCorrupt instead.
var ErrArchitecture = layers.ErrMismatch
