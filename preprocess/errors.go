package preprocess

import (
	"errors"
	"image"
)

// Errors that tell bad images apart, for errors.Is. Each comes wrapped in
// a message that names the file (Load) or the image's index (Batch), for
// example "preprocess: big.png: image too large: 100000x100000 pixels
// exceeds the limit of 67108864".
var (
	// ErrTooLarge: the image has more pixels than the limit (MaxPixels,
	// or the one given to LoadLimit and DecodeLimit), judged from its
	// header before any pixel is decoded; or it is so thin that resizing
	// its shorter side to Config.Size would exceed MaxPixels.
	ErrTooLarge = errors.New("image too large")

	// ErrUnknownFormat: the data is in no registered image format (it is
	// a text file, an empty file, or a format with no decoder). It is
	// image.ErrFormat, so either name matches, and its text is
	// "image: unknown format".
	ErrUnknownFormat = image.ErrFormat

	// ErrCorrupt: the data starts as an image of a known format but cannot
	// be decoded: truncated, damaged, or claiming an empty (0 x N) size.
	// The decoder's own error is wrapped too, for example
	// "preprocess: a.png: corrupt image: unexpected EOF".
	ErrCorrupt = errors.New("corrupt image")
)
