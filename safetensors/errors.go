package safetensors

import "errors"

// Errors that tell a file that is not safetensors at all from a damaged
// one, for errors.Is. Each comes wrapped in a message naming the file (for
// Open) and the problem.
var (
	// ErrNotSafetensors: the input is not a safetensors file: its ninth
	// byte, the first of the JSON header, is not '{' (a text file, an
	// image, a PyTorch pickle).
	ErrNotSafetensors = errors.New("not a safetensors file")

	// ErrCorrupt: the input starts as a safetensors file but is damaged:
	// shorter than its header says (truncated), a header length out of
	// range, header JSON that does not parse or breaks the format's rules,
	// or tensor data offsets outside the data buffer or overlapping.
	ErrCorrupt = errors.New("corrupt file")
)
