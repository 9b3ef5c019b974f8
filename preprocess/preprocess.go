package preprocess

import (
	"errors"
	"fmt"
	"image"
	"math"
	"reflect"
	"runtime"
	"sync"

	"github.com/disintegration/imaging"
)

// geometry is the resize-then-crop plan for one source image.
type geometry struct {
	resize        bool // whether to resample at all
	resW, resH    int  // size after resampling (the source size when !resize)
	left, top     int  // crop offset inside the (resized) image
	width, height int  // source size
}

// roundHalfEven rounds x to the nearest integer, ties to even, as Python's
// round() (used by torchvision's CenterCrop) does.
func roundHalfEven(x float64) int {
	return int(math.RoundToEven(x))
}

// centreOffset is torchvision's CenterCrop offset along one axis of length
// n for a crop of length size: int(round((n - size) / 2.0)).
func centreOffset(n, size int) int {
	return roundHalfEven(float64(n-size) / 2.0)
}

// plan computes the geometry for a w x h image under cfg (with defaults
// applied).
func plan(w, h int, cfg Config) geometry {
	s := cfg.Size
	g := geometry{width: w, height: h, resW: w, resH: h}
	if cfg.NoCrop {
		if w != s || h != s {
			g.resize, g.resW, g.resH = true, s, s
		}
		return g
	}
	short, long := w, h
	if h < w {
		short, long = h, w
	}
	if short != s {
		// torchvision: new_long = int(size * long / short), truncated.
		newLong := int(float64(s) * float64(long) / float64(short))
		if newLong < s {
			newLong = s
		}
		g.resize = true
		if w <= h {
			g.resW, g.resH = s, newLong
		} else {
			g.resW, g.resH = newLong, s
		}
	}
	g.left = centreOffset(g.resW, s)
	g.top = centreOffset(g.resH, s)
	return g
}

// isNil reports whether img is nil or a typed nil pointer, either of which
// would panic on Bounds.
func isNil(img image.Image) bool {
	if img == nil {
		return true
	}
	v := reflect.ValueOf(img)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// Pixels converts one image to model input: Channels planes of Size x
// Size float32 values in CHW order, as the package documentation
// describes. Colour is read at 16 bits a channel and grey is (299R + 587G
// + 114B)/1000 computed exactly, so an 8-bit or grey pixel keeps exactly
// its level through UnitRange and Caffe. It returns an error, never
// panics, for a nil or empty image, an invalid Config, or an image so
// thin that resizing its shorter side to Size exceeds MaxPixels.
func Pixels(img image.Image, cfg Config) ([]float32, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dst := make([]float32, cfg.Channels*cfg.Size*cfg.Size)
	if err := pixelsInto(dst, img, cfg); err != nil {
		return nil, err
	}
	return dst, nil
}

// pixelsInto writes the model input for img into dst, which must have
// length Channels*Size*Size. cfg must already be defaulted and valid.
func pixelsInto(dst []float32, img image.Image, cfg Config) error {
	if isNil(img) {
		return errors.New("preprocess: nil image")
	}
	b := img.Bounds()
	if b.Empty() {
		return fmt.Errorf("preprocess: empty image (%dx%d)", b.Dx(), b.Dy())
	}
	g := plan(b.Dx(), b.Dy(), cfg)
	if g.resize && int64(g.resW)*int64(g.resH) > max(MaxPixels, int64(cfg.Size)*int64(cfg.Size)) {
		// Resizing the shorter side of a very thin image to Size would
		// make the longer side enormous.
		return fmt.Errorf("preprocess: %w: a %dx%d image resized to %dx%d exceeds the limit of %d pixels (MaxPixels); its aspect ratio is too extreme",
			ErrTooLarge, b.Dx(), b.Dy(), g.resW, g.resH, MaxPixels)
	}
	src := img
	if g.resize {
		src = imaging.Resize(opaqueNRGBA(img), g.resW, g.resH, imagingFilters[cfg.Filter])
		if src.Bounds().Dx() != g.resW || src.Bounds().Dy() != g.resH {
			return fmt.Errorf("preprocess: resize to %dx%d failed", g.resW, g.resH)
		}
	}
	sb := src.Bounds()
	r := image.Rect(g.left, g.top, g.left+cfg.Size, g.top+cfg.Size).Add(sb.Min)
	newWriter(dst, cfg).read(src, r)
	return nil
}

// Batch converts each image with Pixels, in parallel, and concatenates
// the results: N = len(imgs) images in (N, C, Size, Size) order, a plain
// slice so that this package needs no tensor library (wrap it with
// tensor.WithBacking). An empty slice, a nil or empty image, or an
// invalid Config is an error; errors about one image name its index.
func Batch(imgs []image.Image, cfg Config) ([]float32, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := len(imgs)
	if n == 0 {
		return nil, errors.New("preprocess: empty batch")
	}
	per := cfg.Channels * cfg.Size * cfg.Size
	data := make([]float32, n*per)
	errs := make([]error, n)

	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = pixelsInto(data[i*per:(i+1)*per], imgs[i], cfg)
			}
		}()
	}
	for i := range imgs {
		next <- i
	}
	close(next)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("preprocess: image %d: %w", i, unprefix(err))
		}
	}
	return data, nil
}

// prefixedError keeps the wrapped error's chain while dropping the
// "preprocess: " prefix from its text, to avoid repeating it.
type prefixedError struct {
	msg string
	err error
}

// Error returns the message without the prefix.
func (e *prefixedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *prefixedError) Unwrap() error { return e.err }

// unprefix strips a leading "preprocess: " from err's message.
func unprefix(err error) error {
	const p = "preprocess: "
	if m := err.Error(); len(m) >= len(p) && m[:len(p)] == p {
		return &prefixedError{msg: m[len(p):], err: err}
	}
	return err
}
