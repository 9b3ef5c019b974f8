package preprocess

import (
	"fmt"
	"strings"

	"github.com/disintegration/imaging"
)

// Filter selects the resampling filter used to resize images.
type Filter int

const (
	// Linear is bilinear interpolation (a triangle filter), the default.
	Linear Filter = iota
	// Lanczos is the Lanczos filter with a = 3.
	Lanczos
	// CatmullRom is the Catmull-Rom cubic.
	CatmullRom
	// Box averages the source pixels a target pixel covers.
	Box
	// Nearest copies the nearest source pixel.
	Nearest
)

var filterNames = [...]string{Linear: "linear", Lanczos: "lanczos", CatmullRom: "catmullrom", Box: "box", Nearest: "nearest"}

var imagingFilters = [...]imaging.ResampleFilter{
	Linear: imaging.Linear, Lanczos: imaging.Lanczos, CatmullRom: imaging.CatmullRom,
	Box: imaging.Box, Nearest: imaging.NearestNeighbor,
}

// String returns the name accepted by ParseFilter, such as "linear". An
// unknown value prints as "Filter(N)".
func (f Filter) String() string {
	if f.valid() {
		return filterNames[f]
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

func (f Filter) valid() bool { return f >= 0 && int(f) < len(filterNames) }

// ParseFilter is the inverse of Filter.String. Matching is
// case-insensitive and ignores surrounding spaces; "" is Linear.
func ParseFilter(s string) (Filter, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Linear, nil
	}
	for f, name := range filterNames {
		if s == name {
			return Filter(f), nil
		}
	}
	return 0, fmt.Errorf("preprocess: unknown filter %q (want linear, lanczos, catmullrom, box or nearest)", s)
}

// MarshalText writes the name returned by String, so that configurations
// saved as JSON read "linear" rather than a number.
func (f Filter) MarshalText() ([]byte, error) {
	if !f.valid() {
		return nil, fmt.Errorf("preprocess: unknown filter %d", int(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText reads a name accepted by ParseFilter.
func (f *Filter) UnmarshalText(b []byte) error {
	v, err := ParseFilter(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
