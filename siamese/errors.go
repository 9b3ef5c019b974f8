package siamese

import (
	"errors"
	"fmt"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/safetensors"
)

// Errors of Load and ReadHeader that tell a wrong file from a damaged one
// and from one of another architecture, for errors.Is. Each comes wrapped
// in a message naming the file, for example "siamese: not a model file:
// safetensors: notes.txt: not a safetensors file (...)".
//
// The scoring and embedding calls wrap the preprocess package's errors
// for bad images (preprocess.ErrTooLarge, preprocess.ErrUnknownFormat,
// preprocess.ErrCorrupt) and, when their context ends, the context's
// error: errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) holds.
var (
	// ErrNotModel: the file is not a model file: not a safetensors file at
	// all (a text file, an image; it then also wraps
	// safetensors.ErrNotSafetensors), or a safetensors file without this
	// package's metadata, such as an encoder's bare weights.
	ErrNotModel = errors.New("not a model file")

	// ErrDamaged: the file is a model file but damaged: truncated, its
	// header or tensor offsets invalid (it then also wraps
	// safetensors.ErrCorrupt), or its metadata (config, threshold, info)
	// unreadable.
	ErrDamaged = errors.New("damaged model file")

	// ErrArchitecture: the file's tensors do not fit the network its
	// configuration describes, or encoder weights (Config.EncoderWeights)
	// do not fit the encoder: a tensor of another shape, missing or left
	// over. It is layers.ErrMismatch, as resnet.ErrArchitecture is.
	ErrArchitecture = layers.ErrMismatch
)

// Errors of a Gallery and a Batcher, for errors.Is.
var (
	// ErrDuplicateID: a reference's id is already in the gallery, or given
	// twice.
	ErrDuplicateID = errors.New("siamese: gallery: duplicate id")

	// ErrOverloaded: a Batcher's queue is full (BatcherConfig.MaxQueue).
	ErrOverloaded = errors.New("siamese: batcher queue is full")

	// ErrClosed: the Batcher is closed.
	ErrClosed = errors.New("siamese: batcher is closed")
)

// fileError prefixes err and adds ErrNotModel or ErrDamaged when the
// safetensors layer found the file to be of another kind or damaged.
func fileError(err error) error {
	switch {
	case errors.Is(err, safetensors.ErrNotSafetensors):
		return fmt.Errorf("siamese: %w: %w", ErrNotModel, err)
	case errors.Is(err, safetensors.ErrCorrupt):
		return fmt.Errorf("siamese: %w: %w", ErrDamaged, err)
	}
	return fmt.Errorf("siamese: %w", err)
}
