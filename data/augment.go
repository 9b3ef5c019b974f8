package data

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// Augment is a random affine distortion of the kind Koch, Zemel and
// Salakhutdinov (2015) used to train Siamese networks on Omniglot: a
// rotation, a shear, a scale and a translation about the image centre.
//
// The zero value is off: Apply returns its input unchanged. With Enabled,
// each call draws, in this order, with r uniform in [-1, 1):
//
//	rotation θ  = r·Rotation degrees
//	shear    φx = r·Shear, φy = r·Shear degrees
//	scale    sx = 1 + r·Scale, sy = 1 + r·Scale
//	shift    tx = r·Translate·width, ty = r·Translate·height pixels
//
// and maps the image by x' = R(θ)·[[1, tan φx], [tan φy, 1]]·diag(sx, sy)·x + t
// about the centre. Every output pixel samples the input bilinearly at
// the inverse-mapped position. Where the sample falls outside the image the
// Fill colour is used, or, when Fill is nil, the nearest edge pixel is
// repeated (for Omniglot's white background, either way the border stays
// white).
//
// The output has the input's size with bounds at (0, 0). A *image.Gray
// input gives a *image.Gray (rounded to the nearest level); any other
// kind gives a *image.RGBA64, interpolated in premultiplied colour. With
// Enabled and all ranges zero the output equals the input pixel for
// pixel.
type Augment struct {
	// Enabled turns the distortion on. False (the default) makes Apply
	// the identity.
	Enabled bool
	// Rotation is the largest rotation, in degrees, in [0, 180].
	Rotation float64
	// Shear is the largest shear angle along each axis, in degrees, in
	// [0, 60].
	Shear float64
	// Scale is the largest relative change of size along each axis, in
	// [0, 1): 0.2 scales by a factor in [0.8, 1.2).
	Scale float64
	// Translate is the largest shift along each axis as a fraction of the
	// image's width or height, in [0, 1].
	Translate float64
	// Fill is the colour outside the image; nil repeats the edge pixels.
	Fill color.Color
}

// KochAugment returns the distortion ranges of Koch et al. (2015),
// expressed for 105x105 Omniglot images: rotation ±10°, shear ±0.3
// (±16.7°), scale 0.8 to 1.2, translation ±2 pixels (±0.02 of the side),
// white outside the image.
func KochAugment() Augment {
	return Augment{
		Enabled:   true,
		Rotation:  10,
		Shear:     math.Atan(0.3) * 180 / math.Pi,
		Scale:     0.2,
		Translate: 0.02,
		Fill:      color.White,
	}
}

// Validate reports whether the ranges are usable. Errors are prefixed
// "data: augment: ".
func (a Augment) Validate() error {
	check := func(name string, v, hi float64, open bool) error {
		if math.IsNaN(v) || v < 0 || v > hi || (open && v == hi) {
			iv := "]"
			if open {
				iv = ")"
			}
			return fmt.Errorf("data: augment: %s is %v, want [0, %v%s", name, v, hi, iv)
		}
		return nil
	}
	if err := check("Rotation", a.Rotation, 180, false); err != nil {
		return err
	}
	if err := check("Shear", a.Shear, 60, false); err != nil {
		return err
	}
	if err := check("Scale", a.Scale, 1, true); err != nil {
		return err
	}
	return check("Translate", a.Translate, 1, false)
}

// unit returns a uniform float64 in [-1, 1) from the top 53 bits of one
// Uint64 draw.
func unit(rng *rand.Rand) float64 {
	return 2*(float64(rng.Uint64()>>11)/(1<<53)) - 1
}

// Apply returns a randomly distorted copy of img, drawing from rng (nil
// means a generator keyed by seed 0). When a is disabled, or img is nil or
// empty, img itself is returned. An invalid Augment (see Validate) gives
// an unspecified image but never a panic.
func (a Augment) Apply(img image.Image, rng *rand.Rand) image.Image {
	if !a.Enabled || isNilImage(img) || img.Bounds().Empty() {
		return img
	}
	if rng == nil {
		rng = rand.New(derive(0, domainAugment))
	}
	theta := unit(rng) * a.Rotation * math.Pi / 180
	phx := unit(rng) * a.Shear * math.Pi / 180
	phy := unit(rng) * a.Shear * math.Pi / 180
	sx := 1 + unit(rng)*a.Scale
	sy := 1 + unit(rng)*a.Scale
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	tx := unit(rng) * a.Translate * float64(w)
	ty := unit(rng) * a.Translate * float64(h)

	// Forward matrix M = R·Sh·S, then its inverse.
	cos, sin := math.Cos(theta), math.Sin(theta)
	kx, ky := math.Tan(phx), math.Tan(phy)
	// Sh·S = [[sx, kx·sy], [ky·sx, sy]]
	a00, a01 := sx, kx*sy
	a10, a11 := ky*sx, sy
	m00 := cos*a00 - sin*a10
	m01 := cos*a01 - sin*a11
	m10 := sin*a00 + cos*a10
	m11 := sin*a01 + cos*a11
	det := m00*m11 - m01*m10
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		m00, m01, m10, m11, det = 1, 0, 0, 1, 1
	}
	i00, i01 := m11/det, -m01/det
	i10, i11 := -m10/det, m00/det

	cx, cy := float64(w)/2, float64(h)/2
	// src returns the continuous sample position (in pixel-index units,
	// pixel centres at integers) of output pixel (x, y).
	src := func(x, y int) (float64, float64) {
		px := float64(x) + 0.5 - cx - tx
		py := float64(y) + 0.5 - cy - ty
		return i00*px + i01*py + cx - 0.5, i10*px + i11*py + cy - 0.5
	}
	if g, ok := img.(*image.Gray); ok {
		return warpGray(g, a.Fill, src)
	}
	return warpRGBA64(img, a.Fill, src)
}

// isNilImage reports whether img is nil or a nil pointer of a common kind.
func isNilImage(img image.Image) bool {
	switch m := img.(type) {
	case nil:
		return true
	case *image.Gray:
		return m == nil
	case *image.RGBA:
		return m == nil
	case *image.NRGBA:
		return m == nil
	case *image.RGBA64:
		return m == nil
	case *image.Paletted:
		return m == nil
	case *image.YCbCr:
		return m == nil
	}
	return false
}

// taps computes the bilinear neighbours of a continuous coordinate u on
// an axis of n pixels: indices i0, i1, weight f of i1, and whether each
// is inside. With clamp, outside indices are moved to the nearest edge.
func taps(u float64, n int, clamp bool) (i0, i1 int, f float64, in0, in1 bool) {
	fl := math.Floor(u)
	if math.IsNaN(fl) || fl < -2 || fl > float64(n)+1 {
		// Far outside (or invalid): pin to just beyond the edge.
		if !(fl >= 0) {
			fl = -2
		} else {
			fl = float64(n) + 1
		}
		u = fl
	}
	i0 = int(fl)
	i1 = i0 + 1
	f = u - fl
	in0 = i0 >= 0 && i0 < n
	in1 = i1 >= 0 && i1 < n
	if clamp {
		i0 = min(max(i0, 0), n-1)
		i1 = min(max(i1, 0), n-1)
		in0, in1 = true, true
	}
	return
}

// warpGray resamples a grey image.
func warpGray(g *image.Gray, fill color.Color, src func(x, y int) (float64, float64)) *image.Gray {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	clamp := fill == nil
	var fv float64
	if !clamp {
		fv = float64(color.GrayModel.Convert(fill).(color.Gray).Y)
	}
	at := func(x, y int, in bool) float64 {
		if !in {
			return fv
		}
		return float64(g.Pix[y*g.Stride+x])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := src(x, y)
			x0, x1, fx, inx0, inx1 := taps(u, w, clamp)
			y0, y1, fy, iny0, iny1 := taps(v, h, clamp)
			top := at(x0, y0, inx0 && iny0)*(1-fx) + at(x1, y0, inx1 && iny0)*fx
			bot := at(x0, y1, inx0 && iny1)*(1-fx) + at(x1, y1, inx1 && iny1)*fx
			val := top*(1-fy) + bot*fy
			out.Pix[y*out.Stride+x] = uint8(min(max(math.Round(val), 0), 255))
		}
	}
	return out
}

// warpRGBA64 resamples any image in premultiplied 16-bit colour.
func warpRGBA64(img image.Image, fill color.Color, src func(x, y int) (float64, float64)) *image.RGBA64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// Premultiplied 16-bit RGBA of the source, row by row.
	pix := make([]float64, 4*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, al := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			p := pix[4*(y*w+x):]
			p[0], p[1], p[2], p[3] = float64(r), float64(g), float64(bl), float64(al)
		}
	}
	clamp := fill == nil
	var fv [4]float64
	if !clamp {
		r, g, bl, al := fill.RGBA()
		fv = [4]float64{float64(r), float64(g), float64(bl), float64(al)}
	}
	at := func(x, y, c int, in bool) float64 {
		if !in {
			return fv[c]
		}
		return pix[4*(y*w+x)+c]
	}
	out := image.NewRGBA64(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := src(x, y)
			x0, x1, fx, inx0, inx1 := taps(u, w, clamp)
			y0, y1, fy, iny0, iny1 := taps(v, h, clamp)
			var c [4]uint16
			for k := 0; k < 4; k++ {
				top := at(x0, y0, k, inx0 && iny0)*(1-fx) + at(x1, y0, k, inx1 && iny0)*fx
				bot := at(x0, y1, k, inx0 && iny1)*(1-fx) + at(x1, y1, k, inx1 && iny1)*fx
				c[k] = uint16(min(max(math.Round(top*(1-fy)+bot*fy), 0), 65535))
			}
			// Keep colour <= alpha, as premultiplied colour requires.
			for k := 0; k < 3; k++ {
				c[k] = min(c[k], c[3])
			}
			out.SetRGBA64(x, y, color.RGBA64{c[0], c[1], c[2], c[3]})
		}
	}
	return out
}
