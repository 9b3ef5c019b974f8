package preprocess

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/spakin/netpbm"
)

// rgb16 is a pixel's expected colour, each channel a fraction of full
// intensity.
type rgb16 [3]float64

// checkRGB compares the UnitRange RGB planes of a 2x2 (or larger) image
// read at Size with want (row by row), within tol, and the grey plane with
// PIL's L of want.
func checkRGB(t *testing.T, name string, img image.Image, size int, want []rgb16, tol float64) {
	t.Helper()
	x, err := Pixels(img, Config{Size: size, Norm: UnitRange})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	grey, err := Pixels(img, Config{Size: size, Channels: 1, Norm: UnitRange})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	plane := size * size
	for i, w := range want {
		for c := range 3 {
			if got := float64(x[c*plane+i]); math.Abs(got-w[c]) > tol {
				t.Errorf("%s: pixel %d channel %d = %.6f, want %.6f", name, i, c, got, w[c])
			}
		}
		l := 0.299*w[0] + 0.587*w[1] + 0.114*w[2]
		if got := float64(grey[i]); math.Abs(got-l) > tol {
			t.Errorf("%s: pixel %d grey = %.6f, want %.6f", name, i, got, l)
		}
	}
}

// grey returns rgb16 values for grey levels v/max.
func grey(max float64, v ...float64) []rgb16 {
	out := make([]rgb16, len(v))
	for i, x := range v {
		out[i] = rgb16{x / max, x / max, x / max}
	}
	return out
}

// TestNetpbm reads the hand-made 2x2 Netpbm files of testdata (README.md
// there lists their bytes) in every variant, binary and ASCII, 8 and 16
// bits, and checks each pixel after preprocessing.
func TestNetpbm(t *testing.T) {
	const exact = 1e-6
	rgbw := []rgb16{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}
	for _, c := range []struct {
		file string
		want []rgb16
		tol  float64
	}{
		{"plain.pbm", grey(1, 1, 0, 0, 1), exact}, // PBM: 1 is black
		{"raw.pbm", grey(1, 1, 0, 0, 1), exact},
		{"plain.pgm", grey(255, 0, 64, 128, 255), exact},
		{"raw.pgm", grey(255, 0, 64, 128, 255), exact},
		// Maximum value 1000: v/1000 rounded to 16 bits.
		{"raw16.pgm", grey(1000, 0, 250, 500, 1000), 0.5 / 65535},
		{"plain.ppm", rgbw, exact},
		{"raw.ppm", rgbw, exact},
		{"raw16.ppm", []rgb16{{1, 0, 0}, {0, 32768.0 / 65535, 0}, {0, 0, 1.0 / 65535}, {1, 1, 1}}, exact},
	} {
		path := filepath.Join("testdata", c.file)
		img, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if b := img.Bounds(); b.Dx() != 2 || b.Dy() != 2 {
			t.Fatalf("%s: bounds %v, want 2x2", c.file, b)
		}
		checkRGB(t, c.file, img, 2, c.want, c.tol)
		// The same bytes through Decode, under another name.
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err = Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: Decode: %v", c.file, err)
		}
		checkRGB(t, c.file+" (Decode)", img, 2, c.want, c.tol)
	}
	// 16 bits a sample are kept: 1/65535 is not rounded to 0.
	img, err := Load(filepath.Join("testdata", "raw16.ppm"))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := Pixels(img, Config{Size: 2, Norm: UnitRange})
	if got, want := x[2*4+2], float32(1)/65535; got != want {
		t.Errorf("raw16.ppm: blue of pixel 2 = %g, want exactly %g", got, want)
	}
}

// TestNetpbmOutOfRange: a sample above the file's maximum value (200 with
// maximum 100) reads as full intensity, not as a wrapped-around dark grey.
func TestNetpbmOutOfRange(t *testing.T) {
	img, err := Decode(bytes.NewReader([]byte("P5\n2 2\n100\n\x32\xc8\x64\x00")))
	if err != nil {
		t.Fatal(err)
	}
	checkRGB(t, "samples 50, 200, 100, 0 of 100", img, 2, grey(100, 50, 100, 100, 0), 0.5/65535)
}

// TestNetpbmFaces writes two photographs of the Yale face database (grey
// GIFs, in ../shared) as PGM, as many face sets ship, and checks that
// each preprocesses to exactly the numbers of its original.
func TestNetpbmFaces(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "faces", "yale", "subject01")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the face images are not here (%v); they come with ../shared", err)
	}
	for _, name := range []string{"happy.gif", "leftlight.gif"} {
		orig, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := netpbm.Encode(&buf, orig, &netpbm.EncodeOptions{Format: netpbm.PGM, MaxValue: 255}); err != nil {
			t.Fatal(err)
		}
		img, err := Load(writeTemp(t, name+".pgm", buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != orig.Bounds() {
			t.Fatalf("%s: PGM bounds %v, original %v", name, img.Bounds(), orig.Bounds())
		}
		for _, cfg := range []Config{{Size: 64, Channels: 1}, {Size: 96, Norm: UnitRange}} {
			got, err := Pixels(img, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Pixels(orig, cfg)
			checkExact(t, fmt.Sprintf("%s as PGM, size %d", name, cfg.Size), got, want)
		}
	}
}

// TestGrey16PNG: a 16-bit grey PNG keeps its 16 bits: level v reads as
// v/65535 in every channel and in grey.
func TestGrey16PNG(t *testing.T) {
	levels := []uint16{0, 1, 0x8000, 0xffff}
	m := image.NewGray16(image.Rect(0, 0, 2, 2))
	for i, v := range levels {
		m.SetGray16(i%2, i/2, color.Gray16{v})
	}
	img := roundTripPNG(t, m)
	if _, ok := img.(*image.Gray16); !ok {
		t.Fatalf("decoded %T, want *image.Gray16", img)
	}
	want := make([]float64, len(levels))
	for i, v := range levels {
		want[i] = float64(v)
	}
	checkRGB(t, "grey16 png", img, 2, grey(65535, want...), 1e-7)
}

// TestRGB16PNG: a 16-bit colour PNG keeps its 16 bits a channel.
func TestRGB16PNG(t *testing.T) {
	m := image.NewNRGBA64(image.Rect(0, 0, 2, 2))
	px := []color.NRGBA64{{0xffff, 1, 0, 0xffff}, {0, 0x8000, 0, 0xffff}, {0x1234, 0x5678, 0x9abc, 0xffff}, {0xffff, 0xffff, 0xfffe, 0xffff}}
	want := make([]rgb16, len(px))
	for i, c := range px {
		m.SetNRGBA64(i%2, i/2, c)
		want[i] = rgb16{float64(c.R) / 65535, float64(c.G) / 65535, float64(c.B) / 65535}
	}
	checkRGB(t, "rgb16 png", roundTripPNG(t, m), 2, want, 1e-7)
}

func roundTripPNG(t *testing.T, m image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	img, err := Load(writeTemp(t, "16bit.png", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestCMYKJPEG reads testdata/cmyk.jpg, a 16x16 CMYK JPEG written by
// ImageMagick (Adobe YCCK) with four 8x8 blocks, red, green / blue,
// orange (200, 100, 50), and checks each block's colour.
func TestCMYKJPEG(t *testing.T) {
	img, err := Load(filepath.Join("testdata", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.CMYK); !ok {
		t.Fatalf("decoded %T, want *image.CMYK", img)
	}
	blocks := []rgb16{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {200.0 / 255, 100.0 / 255, 50.0 / 255}}
	// Every pixel of each block, row by row, compared with its block's
	// colour; JPEG at quality 100 is within a few levels.
	want := make([]rgb16, 16*16)
	for i := range want {
		x, y := i%16, i/16
		want[i] = blocks[2*(y/8)+x/8]
	}
	checkRGB(t, "cmyk.jpg", img, 16, want, 3.0/255)
}

// TestAnimatedGIF: an animated GIF reads as its first frame.
func TestAnimatedGIF(t *testing.T) {
	pal := color.Palette{color.NRGBA{200, 30, 40, 255}, color.NRGBA{10, 20, 250, 255}, color.NRGBA{0, 0, 0, 255}}
	frame := func(idx uint8) *image.Paletted {
		f := image.NewPaletted(image.Rect(0, 0, 4, 4), pal)
		for i := range f.Pix {
			f.Pix[i] = idx
		}
		f.Pix[5] = 2 // one black pixel, at (1, 1)
		return f
	}
	var buf bytes.Buffer
	anim := &gif.GIF{Image: []*image.Paletted{frame(0), frame(1)}, Delay: []int{10, 10}}
	if err := gif.EncodeAll(&buf, anim); err != nil {
		t.Fatal(err)
	}
	img, err := Load(writeTemp(t, "anim.gif", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	red, black := rgb16{200.0 / 255, 30.0 / 255, 40.0 / 255}, rgb16{}
	want := []rgb16{red, red, red, red, red, black}
	checkRGB(t, "animated gif", img, 4, want, 1e-6)
}
