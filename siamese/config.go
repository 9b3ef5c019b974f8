package siamese

import (
	"errors"
	"fmt"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
)

// Distance is how the head compares the two towers' embeddings. Each gives
// per-pair distance features that are 0 for identical embeddings and grow
// as the embeddings part.
type Distance int

const (
	// L1 is |a - b| component-wise, the Keras original's Lambda layer.
	// The default.
	L1 Distance = iota
	// L2 is (a - b)² component-wise.
	L2
	// Cosine is the single feature 1 - cos(a, b).
	Cosine
)

func (d Distance) String() string {
	switch d {
	case L1:
		return "l1"
	case L2:
		return "l2"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("Distance(%d)", int(d))
}

// ParseDistance reads "l1", "l2" or "cosine".
func ParseDistance(s string) (Distance, error) {
	for _, d := range []Distance{L1, L2, Cosine} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("siamese: unknown distance %q (want l1, l2 or cosine)", s)
}

// MarshalText writes the name returned by String.
func (d Distance) MarshalText() ([]byte, error) {
	if d < L1 || d > Cosine {
		return nil, fmt.Errorf("siamese: unknown distance %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads a name accepted by ParseDistance.
func (d *Distance) UnmarshalText(b []byte) error {
	v, err := ParseDistance(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Config describes a Siamese model. Zero fields take the documented
// defaults, which reproduce the Keras original: ResNet-50 towers on 64x64
// RGB input, Dense 1024 + ReLU, Dropout 0.2, Dense 512 + ReLU, Dropout 0.2,
// the L1 distance, Dense(1) and a sigmoid.
type Config struct {
	// Encoder is the tower's ResNet. Default: ResNet-50 with average
	// pooling (resnet.Config{Depth: 50}); PoolNone flattens the feature map
	// instead, as the Keras original's Flatten does. InChannels follows
	// Input.Channels and must not contradict it; NumClasses must be 0.
	Encoder resnet.Config
	// EncoderWeights, if set, names a safetensors file of pretrained
	// encoder weights with torchvision/timm names, loaded by New (its fc.*
	// tensors are ignored). It is not saved: the saved model holds the
	// weights themselves.
	EncoderWeights string `json:",omitempty"`
	// FrozenStages freezes the encoder's first stages (see resnet.Freeze):
	// 0 (default) trains everything, resnet.Stages freezes the whole
	// encoder as the Keras original's trainable=False does (no gradient,
	// BatchNorm on running statistics), 4 trains only layer4.
	FrozenStages int
	// Hidden lists the sizes of the Dense+ReLU layers of each tower's
	// head. nil means the default {1024, 512}; an empty non-nil slice means
	// none (the embedding is the encoder's output).
	Hidden []int
	// Dropout is the rate of the Dropout after each hidden layer, applied
	// in training only. 0 means the default 0.2; a negative value means no
	// Dropout.
	Dropout float64
	// Distance compares the two embeddings; default L1.
	Distance Distance
	// Input is the preprocessing every scoring and embedding call applies.
	// Default: 64x64, 3 channels, ImageNet normalisation, linear filter,
	// resize of the shorter side and centre crop.
	Input preprocess.Config
	// SeparateTowers gives the second input its own encoder and head
	// instead of sharing the first tower's weights. Off by default: both
	// inputs go through one set of parameters.
	SeparateTowers bool
	// Seed drives the initialisation of every parameter.
	Seed uint64
}

// DefaultHidden is the head's default hidden layer sizes.
var DefaultHidden = []int{1024, 512}

// WithDefaults returns c with zero fields replaced by their defaults.
func (c Config) WithDefaults() Config {
	if c.Encoder.Depth == 0 {
		c.Encoder.Depth = 50
	}
	if c.Input.Size == 0 {
		c.Input.Size = 64
	}
	c.Input = c.Input.WithDefaults()
	if c.Encoder.InChannels == 0 {
		c.Encoder.InChannels = c.Input.Channels
	}
	c.Encoder = c.Encoder.WithDefaults()
	if c.Hidden == nil {
		c.Hidden = append([]int(nil), DefaultHidden...)
	} else {
		c.Hidden = append([]int{}, c.Hidden...)
	}
	if c.Dropout == 0 {
		c.Dropout = 0.2
	}
	if c.Dropout < 0 {
		c.Dropout = -1
	}
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c Config) Validate() error {
	d := c.WithDefaults()
	var errs []error
	if err := d.Encoder.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := d.Input.Validate(); err != nil {
		errs = append(errs, err)
	}
	if d.Encoder.InChannels != d.Input.Channels {
		errs = append(errs, fmt.Errorf("encoder has %d input channels, preprocessing gives %d", d.Encoder.InChannels, d.Input.Channels))
	}
	if d.Encoder.NumClasses != 0 {
		errs = append(errs, errors.New("the encoder must not have a classifier top (NumClasses must be 0)"))
	}
	if d.Input.Size < 32 {
		errs = append(errs, fmt.Errorf("input size %d is smaller than 32", d.Input.Size))
	}
	if d.FrozenStages < 0 || d.FrozenStages > resnet.Stages {
		errs = append(errs, fmt.Errorf("frozen stages %d outside 0..%d", d.FrozenStages, resnet.Stages))
	}
	for _, h := range d.Hidden {
		if h <= 0 {
			errs = append(errs, fmt.Errorf("hidden layer size %d", h))
		}
	}
	if d.Dropout >= 1 {
		errs = append(errs, fmt.Errorf("dropout rate %g is not below 1", d.Dropout))
	}
	if d.Distance < L1 || d.Distance > Cosine {
		errs = append(errs, fmt.Errorf("distance %v", d.Distance))
	}
	if len(errs) > 0 {
		return fmt.Errorf("siamese: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// encoderOutput returns the length of the encoder's flattened output.
func (c Config) encoderOutput() int { return c.Encoder.OutputSize(c.Input.Size) }

// embeddingSize returns the length of one tower's embedding.
func (c Config) embeddingSize() int {
	if len(c.Hidden) > 0 {
		return c.Hidden[len(c.Hidden)-1]
	}
	return c.encoderOutput()
}

// EmbeddingSize returns the length of one tower's embedding (after
// defaults): the last hidden layer's size, or the encoder's flattened
// output without hidden layers.
func (c Config) EmbeddingSize() int { return c.WithDefaults().embeddingSize() }
