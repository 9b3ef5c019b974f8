package resnet

import (
	"errors"
	"fmt"
)

// Pooling says what the encoder does with the last stage's feature map, as
// the pooling= argument of Keras' ResNet50.
type Pooling int

const (
	// PoolAvg averages each channel over the feature map: (N, C). The default.
	PoolAvg Pooling = iota
	// PoolMax takes each channel's maximum over the feature map: (N, C).
	PoolMax
	// PoolNone returns the feature map itself: (N, C, H, W).
	PoolNone
)

func (p Pooling) String() string {
	switch p {
	case PoolAvg:
		return "avg"
	case PoolMax:
		return "max"
	case PoolNone:
		return "none"
	}
	return fmt.Sprintf("Pooling(%d)", int(p))
}

// ParsePooling reads "avg", "max" or "none".
func ParsePooling(s string) (Pooling, error) {
	for _, p := range []Pooling{PoolAvg, PoolMax, PoolNone} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("resnet: unknown pooling %q (want avg, max or none)", s)
}

// Config describes a ResNet. Zero fields take the documented defaults.
type Config struct {
	// Depth is 18, 34 (basic blocks), 50, 101 or 152 (bottleneck blocks).
	Depth int
	// InChannels is the number of input channels: 3 (default) or 1 for
	// greyscale, or any other positive number.
	InChannels int
	// Width is the number of channels of the stem and the first stage; the
	// stages have Width, 2*Width, 4*Width and 8*Width (times 4 for
	// bottleneck outputs). Default 64, as in torchvision; smaller values make
	// small networks for tests and experiments.
	Width int
	// Pooling applied to the last feature map; default PoolAvg.
	Pooling Pooling
	// NumClasses > 0 adds torchvision's classifier top (average pooling
	// and a Dense layer "fc" with NumClasses outputs); Pooling must then be
	// PoolAvg. Default 0: no top.
	NumClasses int
	// BNEps is BatchNorm's epsilon; default 1e-5 (torchvision).
	BNEps float64
	// BNMomentum is BatchNorm's running-statistic momentum in PyTorch's
	// convention; default 0.1.
	BNMomentum float64
	// Seed seeds the random initialisation (torchvision's: Kaiming normal
	// for convolutions, fan-out mode; BatchNorm 1 and 0; PyTorch's Linear
	// default for fc).
	Seed uint64
}

// ResNet18 returns the configuration of torchvision's resnet18 without top.
func ResNet18() Config { return Config{Depth: 18} }

// ResNet34 returns the configuration of torchvision's resnet34 without top.
func ResNet34() Config { return Config{Depth: 34} }

// ResNet50 returns the configuration of torchvision's resnet50 without top.
func ResNet50() Config { return Config{Depth: 50} }

// ResNet101 returns the configuration of torchvision's resnet101 without top.
func ResNet101() Config { return Config{Depth: 101} }

// ResNet152 returns the configuration of torchvision's resnet152 without top.
func ResNet152() Config { return Config{Depth: 152} }

// ParseArch returns the configuration for "resnet18" ... "resnet152".
func ParseArch(s string) (Config, error) {
	for _, d := range []int{18, 34, 50, 101, 152} {
		if s == fmt.Sprintf("resnet%d", d) {
			return Config{Depth: d}, nil
		}
	}
	return Config{}, fmt.Errorf("resnet: unknown architecture %q (want resnet18, resnet34, resnet50, resnet101 or resnet152)", s)
}

// stages returns the number of blocks per stage and whether the blocks are
// bottlenecks.
func stages(depth int) ([4]int, bool, bool) {
	switch depth {
	case 18:
		return [4]int{2, 2, 2, 2}, false, true
	case 34:
		return [4]int{3, 4, 6, 3}, false, true
	case 50:
		return [4]int{3, 4, 6, 3}, true, true
	case 101:
		return [4]int{3, 4, 23, 3}, true, true
	case 152:
		return [4]int{3, 8, 36, 3}, true, true
	}
	return [4]int{}, false, false
}

// WithDefaults returns c with zero fields replaced by their defaults.
func (c Config) WithDefaults() Config {
	if c.InChannels == 0 {
		c.InChannels = 3
	}
	if c.Width == 0 {
		c.Width = 64
	}
	if c.BNEps == 0 {
		c.BNEps = 1e-5
	}
	if c.BNMomentum == 0 {
		c.BNMomentum = 0.1
	}
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if _, _, ok := stages(c.Depth); !ok {
		errs = append(errs, fmt.Errorf("depth %d (want 18, 34, 50, 101 or 152)", c.Depth))
	}
	if c.InChannels < 0 {
		errs = append(errs, fmt.Errorf("input channels %d", c.InChannels))
	}
	if c.Width < 0 {
		errs = append(errs, fmt.Errorf("width %d", c.Width))
	}
	if c.Pooling < PoolAvg || c.Pooling > PoolNone {
		errs = append(errs, fmt.Errorf("pooling %v", c.Pooling))
	}
	if c.NumClasses < 0 {
		errs = append(errs, fmt.Errorf("classes %d", c.NumClasses))
	}
	if c.NumClasses > 0 && c.Pooling != PoolAvg {
		errs = append(errs, fmt.Errorf("a classifier top needs avg pooling, not %v", c.Pooling))
	}
	if c.BNEps < 0 {
		errs = append(errs, fmt.Errorf("BatchNorm epsilon %g", c.BNEps))
	}
	if c.BNMomentum < 0 || c.BNMomentum > 1 {
		errs = append(errs, fmt.Errorf("BatchNorm momentum %g outside [0, 1]", c.BNMomentum))
	}
	if len(errs) > 0 {
		return fmt.Errorf("resnet: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// Features returns the number of channels of the last feature map (2048 for
// ResNet-50, 512 for ResNet-18) and so of the pooled embedding.
func (c Config) Features() int {
	c = c.WithDefaults()
	_, bottleneck, _ := stages(c.Depth)
	if bottleneck {
		return 8 * c.Width * 4
	}
	return 8 * c.Width
}

// OutputSize returns the number of values the encoder (without a top)
// gives per size x size image, flattened: Features when pooled, and
// Features times the final feature map's area with PoolNone, the map
// being size/32 on a side, rounded up at each of its five stride-2 steps.
func (c Config) OutputSize(size int) int {
	f := c.Features()
	if c.WithDefaults().Pooling == PoolNone {
		s := (size + 31) / 32
		f *= s * s
	}
	return f
}

// MarshalText writes the name returned by String ("avg", "max", "none").
func (p Pooling) MarshalText() ([]byte, error) {
	if p < PoolAvg || p > PoolNone {
		return nil, fmt.Errorf("resnet: unknown pooling %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText reads a name accepted by ParsePooling.
func (p *Pooling) UnmarshalText(b []byte) error {
	v, err := ParsePooling(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
