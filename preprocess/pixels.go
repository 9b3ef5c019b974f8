package preprocess

import (
	"image"
	"image/color"
)

// writer normalises 16-bit non-premultiplied RGB triples into a CHW
// buffer.
type writer struct {
	dst      []float32
	plane    int // Size*Size
	channels int
	norm     Normalization
	invert   bool
}

// newWriter returns a writer filling dst for cfg (defaulted and valid).
func newWriter(dst []float32, cfg Config) *writer {
	return &writer{dst: dst, plane: cfg.Size * cfg.Size, channels: cfg.Channels, norm: cfg.Norm, invert: cfg.Invert}
}

// put stores the pixel with 16-bit channels r, g, b at plane index i.
// Every read path goes through put, so all paths give identical numbers.
func (w *writer) put(i int, r, g, b uint32) {
	d := w.dst
	if w.invert {
		r, g, b = 0xffff-r, 0xffff-g, 0xffff-b
	}
	if w.channels == 1 {
		// PIL "L": (299R + 587G + 114B)/1000, exact in integers here.
		sum := float64(299*uint64(r) + 587*uint64(g) + 114*uint64(b))
		switch w.norm {
		case ImageNet:
			v := float32(sum / (1000 * 65535))
			d[i] = (v - imagenetGreyMean) / imagenetGreyStd
		case Caffe:
			d[i] = float32(sum/(1000*257)) - caffeGreyMean
		default:
			d[i] = float32(sum / (1000 * 65535))
		}
		return
	}
	p := w.plane
	switch w.norm {
	case ImageNet:
		d[i] = (float32(r)/65535 - imagenetMean[0]) / imagenetStd[0]
		d[p+i] = (float32(g)/65535 - imagenetMean[1]) / imagenetStd[1]
		d[2*p+i] = (float32(b)/65535 - imagenetMean[2]) / imagenetStd[2]
	case Caffe: // BGR order, [0,255] scale (65535/255 == 257 exactly).
		d[i] = float32(b)/257 - caffeMean[2]
		d[p+i] = float32(g)/257 - caffeMean[1]
		d[2*p+i] = float32(r)/257 - caffeMean[0]
	default:
		d[i] = float32(r) / 65535
		d[p+i] = float32(g) / 65535
		d[2*p+i] = float32(b) / 65535
	}
}

// unpremul converts premultiplied 16-bit r, g, b, a to non-premultiplied
// colour exactly as color.NRGBA64Model does.
func unpremul(r, g, b, a uint32) (uint32, uint32, uint32) {
	switch a {
	case 0xffff:
		return r, g, b
	case 0:
		return 0, 0, 0
	}
	return r * 0xffff / a, g * 0xffff / a, b * 0xffff / a
}

// nrgb16 returns the non-premultiplied 16-bit colour of c. Colours that are
// already non-premultiplied are read directly, so a nearly transparent
// pixel loses no precision; everything else is converted as
// color.NRGBA64Model does, after clamping each channel to alpha and alpha
// to 0xffff: a colour out of range (a Netpbm sample above the file's
// maximum value reads as one) gives full intensity rather than wrapping
// around to a dark value.
func nrgb16(c color.Color) (uint32, uint32, uint32) {
	switch c := c.(type) {
	case color.NRGBA:
		return uint32(c.R) * 0x101, uint32(c.G) * 0x101, uint32(c.B) * 0x101
	case color.NRGBA64:
		return uint32(c.R), uint32(c.G), uint32(c.B)
	}
	r, g, b, a := c.RGBA()
	a = min(a, 0xffff)
	return unpremul(min(r, a), min(g, a), min(b, a), a)
}

// read converts the pixels of src inside r (a Size x Size rectangle within
// src's bounds) into the writer's buffer.
func (w *writer) read(src image.Image, r image.Rectangle) {
	scan(src, r, w.put)
}

// opaqueNRGBA returns a copy of img with alpha dropped (every pixel fully
// opaque), its colour read exactly as for Pixels and rounded to 8 bits,
// with bounds starting at (0, 0). This is the image that gets resampled, so
// a transparent pixel contributes its colour as PIL's convert("RGB") does,
// and every image kind is resampled from identical input.
func opaqueNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	pix := dst.Pix
	scan(img, b, func(i int, r, g, b uint32) {
		p := pix[4*i : 4*i+4 : 4*i+4]
		// Round 16 to 8 bits; exact for 8-bit sources (c = v*257).
		p[0] = uint8((r*255 + 32767) / 65535)
		p[1] = uint8((g*255 + 32767) / 65535)
		p[2] = uint8((b*255 + 32767) / 65535)
		p[3] = 0xff
	})
	return dst
}

// scan calls put(i, r, g, b) for every pixel of src inside rect, row by
// row, with i counting from 0 and r, g, b the non-premultiplied 16-bit
// colour. Common concrete image types take a fast path that yields exactly
// the values of the general path (nrgb16 on src.At).
func scan(src image.Image, rect image.Rectangle, put func(i int, r, g, b uint32)) {
	i := 0
	switch m := src.(type) {
	case *image.NRGBA:
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			o := m.PixOffset(rect.Min.X, y)
			for x := rect.Min.X; x < rect.Max.X; x, o, i = x+1, o+4, i+1 {
				p := m.Pix[o : o+3 : o+3]
				put(i, uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101)
			}
		}
	case *image.RGBA:
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			o := m.PixOffset(rect.Min.X, y)
			for x := rect.Min.X; x < rect.Max.X; x, o, i = x+1, o+4, i+1 {
				p := m.Pix[o : o+4 : o+4]
				r, g, b := unpremul(uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101, uint32(p[3])*0x101)
				put(i, r, g, b)
			}
		}
	case *image.Gray:
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			o := m.PixOffset(rect.Min.X, y)
			for x := rect.Min.X; x < rect.Max.X; x, o, i = x+1, o+1, i+1 {
				v := uint32(m.Pix[o]) * 0x101
				put(i, v, v, v)
			}
		}
	case *image.YCbCr:
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			for x := rect.Min.X; x < rect.Max.X; x, i = x+1, i+1 {
				// YCbCr is opaque: RGBA() is already non-premultiplied.
				r, g, b, _ := m.YCbCrAt(x, y).RGBA()
				put(i, r, g, b)
			}
		}
	default:
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			for x := rect.Min.X; x < rect.Max.X; x, i = x+1, i+1 {
				r, g, b := nrgb16(src.At(x, y))
				put(i, r, g, b)
			}
		}
	}
}
