package preprocess

import (
	"fmt"
	"strings"
)

// Normalization selects how [0,1] colour values are mapped to model input.
type Normalization int

const (
	// ImageNet is torchvision's standard normalisation: RGB values in
	// [0,1], minus the mean (0.485, 0.456, 0.406), divided by the standard
	// deviation (0.229, 0.224, 0.225). For one channel the grey value in
	// [0,1] uses mean 0.449 and std 0.226 (the averages of the three).
	ImageNet Normalization = iota
	// Caffe is Keras' "caffe" mode: BGR channel order, values on the
	// [0,255] scale, minus the mean (B 103.939, G 116.779, R 123.68), with
	// no division. For one channel: grey*255 - 114.799.
	Caffe
	// UnitRange scales values to [0,1] and does nothing else.
	UnitRange
)

// Per-channel constants, in RGB order.
var (
	imagenetMean = [3]float32{0.485, 0.456, 0.406}
	imagenetStd  = [3]float32{0.229, 0.224, 0.225}
	caffeMean    = [3]float32{123.68, 116.779, 103.939}
)

// Grey-level constants.
const (
	imagenetGreyMean float32 = 0.449
	imagenetGreyStd  float32 = 0.226
	caffeGreyMean    float32 = 114.799
)

// String returns the name accepted by ParseNormalization: "imagenet",
// "caffe" or "unit". An unknown value prints as "Normalization(N)".
func (n Normalization) String() string {
	switch n {
	case ImageNet:
		return "imagenet"
	case Caffe:
		return "caffe"
	case UnitRange:
		return "unit"
	}
	return fmt.Sprintf("Normalization(%d)", int(n))
}

// valid reports whether n is one of the defined normalisations.
func (n Normalization) valid() bool {
	return n == ImageNet || n == Caffe || n == UnitRange
}

// ParseNormalization is the inverse of Normalization.String. Matching is
// case-insensitive and ignores surrounding spaces; "unitrange" is accepted
// as an alias of "unit".
func ParseNormalization(s string) (Normalization, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "imagenet":
		return ImageNet, nil
	case "caffe":
		return Caffe, nil
	case "unit", "unitrange":
		return UnitRange, nil
	}
	return 0, fmt.Errorf("preprocess: unknown normalization %q (want imagenet, caffe or unit)", s)
}

// MarshalText writes the name returned by String, so that configurations
// saved as JSON read "imagenet" rather than a number.
func (n Normalization) MarshalText() ([]byte, error) {
	if !n.valid() {
		return nil, fmt.Errorf("preprocess: unknown normalization %d", int(n))
	}
	return []byte(n.String()), nil
}

// UnmarshalText reads a name accepted by ParseNormalization.
func (n *Normalization) UnmarshalText(b []byte) error {
	v, err := ParseNormalization(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}
