package preprocess

import "fmt"

// Config describes the transform applied to every image.
type Config struct {
	// Size is the side of the square output, Size x Size pixels. Required,
	// must be in 1..MaxSize.
	Size int
	// Channels is 3 for RGB (the default when 0) or 1 for grey.
	Channels int
	// Norm is the normalisation; the zero value is ImageNet.
	Norm Normalization
	// Filter is the resampling filter; the zero value is Linear.
	Filter Filter
	// NoCrop, when false (the default), resizes the shorter side to Size
	// and then centre-crops Size x Size, like torchvision's
	// Resize(Size)+CenterCrop(Size). When true the image is resized
	// straight to Size x Size, ignoring its aspect ratio.
	NoCrop bool
	// Invert, when true, turns every colour value v in [0,1] into 1 - v
	// before normalisation: black ink on white paper becomes white ink on
	// black, so the background is 0 under UnitRange, as the zero padding
	// of a convolution is. Off by default.
	Invert bool `json:",omitempty"`
}

// MaxSize is the largest Config.Size: 8192, an output of 8192 x 8192
// pixels (768 MiB of float32 for 3 channels). It keeps a mistaken or
// hostile size from overflowing the buffer length.
const MaxSize = 8192

// WithDefaults returns a copy of c with the zero-valued optional fields
// filled in: Channels 3.
func (c Config) WithDefaults() Config {
	if c.Channels == 0 {
		c.Channels = 3
	}
	return c
}

// Validate reports whether c (after WithDefaults) describes a usable
// transform. Errors are prefixed "preprocess: ".
func (c Config) Validate() error {
	d := c.WithDefaults()
	if d.Size <= 0 {
		return fmt.Errorf("preprocess: size must be > 0, got %d", c.Size)
	}
	if d.Size > MaxSize {
		return fmt.Errorf("preprocess: size %d exceeds the maximum of %d", c.Size, MaxSize)
	}
	if d.Channels != 1 && d.Channels != 3 {
		return fmt.Errorf("preprocess: channels must be 1 or 3, got %d", c.Channels)
	}
	if !d.Norm.valid() {
		return fmt.Errorf("preprocess: unknown normalization %v", c.Norm)
	}
	if !d.Filter.valid() {
		return fmt.Errorf("preprocess: unknown filter %v", c.Filter)
	}
	return nil
}
