package preprocess

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/internal/imageread"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// fuzzLimit is the pixel limit FuzzDecode decodes under: small, so that
// every accepted input decodes quickly.
const fuzzLimit = 1 << 16

// FuzzDecode feeds arbitrary bytes to DecodeLimit and what decodes to
// Pixels. Nothing may panic, an error must carry the package prefix, and
// no image larger than the limit may be decoded.
//
//	go test ./preprocess -run '^$' -fuzz FuzzDecode -fuzztime 15s
func FuzzDecode(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range small.Pix {
		small.Pix[i] = uint8(i * 37)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	pal.Pix[5] = 1
	var seeds [][]byte
	add := func(enc func(*bytes.Buffer) error) {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, buf.Bytes())
	}
	add(func(b *bytes.Buffer) error { return png.Encode(b, small) })
	add(func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray16(image.Rect(0, 0, 1, 7))) })
	add(func(b *bytes.Buffer) error { return jpeg.Encode(b, small, nil) })
	add(func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) })
	add(func(b *bytes.Buffer) error { return bmp.Encode(b, small) })
	add(func(b *bytes.Buffer) error { return tiff.Encode(b, small, &tiff.Options{Compression: tiff.Deflate}) })
	seeds = append(seeds,
		orientedJPEGBytes(f, 6),
		bombPNG(100000, 100000),
		bombPNG(300, 300), // over fuzzLimit
		bombJPEG(65000, 65000),
		hostileTIFF(),
		[]byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"),
		[]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"),
		[]byte("P2\n3 2\n9\n0 1 2\n3 4 9\n"),
		[]byte("P5\n2 2\n1000\n\x00\x00\x00\xfa\x01\xf4\x03\xe8"),
		[]byte("P4\n9 2\n\x40\x80\xff\x00"),
		[]byte("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n\x10\xff\x20\x80"),
		[]byte("P5\n100000 100000\n255\n\x00"),
		[]byte("not an image"),
		nil,
	)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeLimit(bytes.NewReader(data), fuzzLimit)
		cfg, _, cerr := imageread.DecodeConfig(bytes.NewReader(data))
		if cerr == nil && int64(cfg.Width)*int64(cfg.Height) > fuzzLimit && err == nil {
			t.Fatalf("header claims %dx%d, over the limit %d, but DecodeLimit accepted it", cfg.Width, cfg.Height, fuzzLimit)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "preprocess: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if img == nil {
			t.Fatal("nil image and nil error")
		}
		b := img.Bounds()
		if int64(b.Dx())*int64(b.Dy()) > fuzzLimit {
			t.Fatalf("decoded %v, over the limit %d", b, fuzzLimit)
		}
		for _, c := range []Config{{Size: 4}, {Size: 3, Channels: 1, Norm: Caffe, Filter: Lanczos}, {Size: 5, NoCrop: true, Norm: UnitRange}} {
			x, err := Pixels(img, c)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "preprocess: ") {
					t.Fatalf("Pixels error without prefix: %v", err)
				}
				if !b.Empty() && !strings.Contains(err.Error(), "aspect ratio") {
					t.Fatalf("Pixels of a %v image: %v", b, err)
				}
				continue
			}
			c = c.WithDefaults()
			if len(x) != c.Channels*c.Size*c.Size {
				t.Fatalf("Pixels returned %d values for %+v", len(x), c)
			}
		}
	})
}

// orientedJPEGBytes is orientedJPEG for a fuzz target.
func orientedJPEGBytes(f *testing.F, o uint16) []byte {
	m := image.NewRGBA(image.Rect(0, 0, 6, 4))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, nil); err != nil {
		f.Fatal(err)
	}
	b := buf.Bytes()
	out := append([]byte{0xFF, 0xD8}, exifOrientation(o)...)
	return append(out, b[2:]...)
}
