package preprocess

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// pngChunk returns one PNG chunk with a valid CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// bombPNG returns a PNG signature and IHDR claiming a w x h 8-bit RGBA
// image, followed by a short IDAT and IEND: a few dozen bytes.
func bombPNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // depth 8, RGBA, deflate, no filter, no interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	// A zlib stream of a few zero bytes (stored block).
	b = append(b, pngChunk("IDAT", []byte{0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x01})...)
	return append(b, pngChunk("IEND", nil)...)
}

// bombJPEG returns SOI, an Exif APP1 segment and a baseline SOF0 claiming
// a w x h three-component image, then EOI.
func bombJPEG(w, h uint16) []byte {
	b := []byte{0xFF, 0xD8}
	b = append(b, exifOrientation(6)...)
	b = append(b, 0xFF, 0xC0, 0, 17, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	b = append(b, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	// SOS (the header ends here without a JFIF APP0), a little scan data.
	b = append(b, 0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0)
	b = append(b, 1, 2, 3, 4, 5, 6, 7, 8)
	return append(b, 0xFF, 0xD9)
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecompressionBomb(t *testing.T) {
	// The headers really claim these sizes.
	for _, c := range []struct {
		name string
		data []byte
		w, h int
	}{
		{"big.png", bombPNG(100000, 100000), 100000, 100000},
		{"big.jpg", bombJPEG(65000, 65000), 65000, 65000},
	} {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(c.data))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Fatalf("%s: header %+v, %v; want %dx%d", c.name, cfg, err, c.w, c.h)
		}
		path := writeTemp(t, c.name, c.data)
		var errLoad, errDecode error
		n := allocated(func() {
			_, errLoad = Load(path)
			_, errDecode = Decode(bytes.NewReader(c.data))
		})
		want := fmt.Sprintf("preprocess: %s: image too large: %dx%d pixels exceeds the limit of 67108864", path, c.w, c.h)
		if errLoad == nil || errLoad.Error() != want {
			t.Errorf("Load(%s) error = %v, want %q", c.name, errLoad, want)
		}
		want = fmt.Sprintf("preprocess: image too large: %dx%d pixels exceeds the limit of 67108864", c.w, c.h)
		if errDecode == nil || errDecode.Error() != want {
			t.Errorf("Decode(%s) error = %v, want %q", c.name, errDecode, want)
		}
		if n > 2<<20 {
			t.Errorf("%s: rejecting it allocated %d bytes, want < 2 MiB", c.name, n)
		}
	}
	// The same checks as allocations per run, which must stay small.
	data := bombPNG(100000, 100000)
	if a := testing.AllocsPerRun(20, func() { Decode(bytes.NewReader(data)) }); a > 100 {
		t.Errorf("Decode of a bomb header: %v allocations per run", a)
	}
}

func TestPixelLimit(t *testing.T) {
	m := image.NewGray(image.Rect(0, 0, 10, 10))
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "ten.png", buf.Bytes())
	if _, err := LoadLimit(path, 99); err == nil || err.Error() != "preprocess: "+path+": image too large: 10x10 pixels exceeds the limit of 99" {
		t.Errorf("LoadLimit 99: %v", err)
	}
	for _, limit := range []int64{100, 0, -1} {
		img, err := LoadLimit(path, limit)
		if err != nil || img.Bounds().Dx() != 10 {
			t.Errorf("LoadLimit %d: %v", limit, err)
		}
		if _, err := DecodeLimit(bytes.NewReader(buf.Bytes()), limit); err != nil {
			t.Errorf("DecodeLimit %d: %v", limit, err)
		}
	}
	if _, err := DecodeLimit(bytes.NewReader(buf.Bytes()), 50); err == nil || err.Error() != "preprocess: image too large: 10x10 pixels exceeds the limit of 50" {
		t.Errorf("DecodeLimit 50: %v", err)
	}
	if _, err := DecodeLimit(nil, 10); err == nil {
		t.Error("DecodeLimit(nil): no error")
	}
	// The side-by-side check cannot overflow.
	if err := checkPixels(1<<62, 1<<62, 1<<26); err == nil {
		t.Error("checkPixels(2^62, 2^62) passed")
	}
}

// onlyReader hides every method but Read, so the decoders buffer it
// themselves (no io.ReaderAt, no Peek).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestDecodeReplaysHeader decodes files larger than the header read ahead
// (incompressible noise) in every format, from a plain reader, and checks
// the pixels survive: the bytes consumed while reading the header must be
// handed to the decoder again.
func TestDecodeReplaysHeader(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewNRGBA(image.Rect(0, 0, 128, 96))
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.IntN(256))
	}
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	pal := image.NewPaletted(m.Bounds(), palette256())
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.IntN(256))
	}
	enc := map[string]func(io.Writer) error{
		"png":  func(w io.Writer) error { return png.Encode(w, m) },
		"bmp":  func(w io.Writer) error { return bmp.Encode(w, m) },
		"tiff": func(w io.Writer) error { return tiff.Encode(w, m, nil) },
		"gif":  func(w io.Writer) error { return gif.Encode(w, pal, nil) },
	}
	for name, f := range enc {
		var buf bytes.Buffer
		if err := f(&buf); err != nil {
			t.Fatal(name, err)
		}
		if buf.Len() < 5000 {
			t.Fatalf("%s: only %d bytes, want more than the 4096 read ahead", name, buf.Len())
		}
		img, err := Decode(onlyReader{bytes.NewReader(buf.Bytes())})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want image.Image = m
		if name == "gif" {
			want = pal
		}
		if img.Bounds() != want.Bounds() {
			t.Fatalf("%s: bounds %v", name, img.Bounds())
		}
		for y := 0; y < 96; y++ {
			for x := 0; x < 128; x++ {
				r1, g1, b1, _ := img.At(x, y).RGBA()
				r2, g2, b2, _ := want.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 {
					t.Fatalf("%s: pixel (%d,%d) differs", name, x, y)
				}
			}
		}
	}
	// JPEG is lossy: a round trip through Decode and image/jpeg agree.
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	ref, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(onlyReader{bytes.NewReader(buf.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Pixels(img, Config{Size: 96, Norm: UnitRange})
	b, _ := Pixels(ref, Config{Size: 96, Norm: UnitRange})
	checkExact(t, "jpeg", a, b)
}

func TestLoadBadFiles(t *testing.T) {
	m := tiny2x2()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()

	// A PNG under a .jpg name loads: the format is sniffed.
	path := writeTemp(t, "really_a_png.jpg", full)
	img, err := Load(path)
	if err != nil {
		t.Fatalf("PNG named .jpg: %v", err)
	}
	got, _ := Pixels(img, Config{Size: 2, Norm: UnitRange})
	want, _ := Pixels(m, Config{Size: 2, Norm: UnitRange})
	checkExact(t, "png named jpg", got, want)

	for _, c := range []struct {
		name string
		data []byte
		want string // in the error after the file name
	}{
		{"empty.png", nil, "image: unknown format"},
		{"truncated.png", full[:len(full)-20], "EOF"},
		{"header_only.png", full[:33], "EOF"},
		{"notes.png", []byte("these are my notes, not a picture\n"), "image: unknown format"},
		{"bomb.gif", []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"), "exceeds the limit"},
		{"bomb.pgm", []byte("P5\n100000 100000\n255\n\x00"), "exceeds the limit"},
		{"truncated.ppm", []byte("P6\n2 2\n255\n\xff\x00"), "PPM"},
	} {
		path := writeTemp(t, c.name, c.data)
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if prefix := "preprocess: " + path + ": "; !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want %q...%q", c.name, err, prefix, c.want)
		}
		if _, err := Decode(bytes.NewReader(c.data)); err == nil || !strings.HasPrefix(err.Error(), "preprocess: ") {
			t.Errorf("%s: Decode error %v", c.name, err)
		}
	}
}

func TestPixelsThinImage(t *testing.T) {
	// Resizing the 1-pixel side to 100 would make the other 100M pixels.
	thin := image.NewGray(image.Rect(0, 0, 1, 1<<20))
	if _, err := Pixels(thin, Config{Size: 100}); err == nil || !strings.Contains(err.Error(), "aspect ratio") {
		t.Errorf("thin image: %v", err)
	}
	// Straight resize does not keep the aspect ratio: fine.
	if _, err := Pixels(thin, Config{Size: 4, NoCrop: true}); err != nil {
		t.Errorf("thin image, NoCrop: %v", err)
	}
	// A reasonable elongated image still works.
	if _, err := Pixels(image.NewGray(image.Rect(0, 0, 3, 300)), Config{Size: 8}); err != nil {
		t.Errorf("3x300: %v", err)
	}
}

func TestConfigMaxSize(t *testing.T) {
	if err := (Config{Size: MaxSize}).Validate(); err != nil {
		t.Errorf("MaxSize: %v", err)
	}
	for _, s := range []int{MaxSize + 1, 1 << 40} {
		if err := (Config{Size: s}).Validate(); err == nil {
			t.Errorf("size %d: no error", s)
		}
		if _, err := Pixels(tiny2x2(), Config{Size: s}); err == nil {
			t.Errorf("Pixels size %d: no error", s)
		}
	}
}

func palette256() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.RGBA{uint8(i), uint8(255 - i), uint8(i * 7), 255}
	}
	return p
}

// hostileTIFF is a little-endian TIFF whose only directory entry,
// StripOffsets, claims 0x3fffffff LONG values (4 GiB) in a 26-byte file.
func hostileTIFF() []byte {
	b := []byte("II*\x00\x08\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 273) // StripOffsets
	b = binary.LittleEndian.AppendUint16(b, 4)   // LONG
	b = binary.LittleEndian.AppendUint32(b, 0x3fffffff)
	b = binary.LittleEndian.AppendUint32(b, 8)
	return binary.LittleEndian.AppendUint32(b, 0)
}

func TestHostileTIFF(t *testing.T) {
	data := hostileTIFF()
	path := writeTemp(t, "evil.tif", data)
	var err error
	n := allocated(func() { _, err = Load(path) })
	if err == nil || !strings.HasPrefix(err.Error(), "preprocess: "+path+": corrupt image: tiff: directory entry 273 claims 4294967292 bytes") {
		t.Errorf("error %v", err)
	}
	if n > 2<<20 {
		t.Errorf("rejecting it allocated %d bytes", n)
	}
	// A valid TIFF passes the check.
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, tiny2x2(), &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	if err := checkTIFF(buf.Bytes()); err != nil {
		t.Errorf("valid TIFF: %v", err)
	}
	if !isTIFF([]byte("MM\x00*")) || isTIFF([]byte("MM\x00")) {
		t.Error("isTIFF")
	}
	for _, short := range [][]byte{[]byte("II*\x00"), []byte("II*\x00\xff\xff\xff\xff"), []byte("MM\x00*\x00\x00\x00\x08\x00")} {
		// The decoder must not be handed a plain reader: it would grow a
		// buffer to the 4 GiB offset of "\xff\xff\xff\xff".
		var err error
		if n := allocated(func() { _, err = Decode(bytes.NewReader(short)) }); n > 2<<20 {
			t.Errorf("%q: allocated %d bytes", short, n)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "preprocess: ") {
			t.Errorf("%q: %v", short, err)
		}
	}
}

func TestEmptyImageRejected(t *testing.T) {
	// A PNG header claiming 0 x 5 pixels is rejected (by the PNG decoder
	// or by the size check) with an error, not decoded.
	for _, data := range [][]byte{bombPNG(0, 5), []byte("GIF89a\x00\x00\x05\x00\x00\x00\x00;")} {
		if _, err := DecodeLimit(bytes.NewReader(data), 0); err == nil {
			t.Errorf("%q: no error", data[:6])
		}
	}
	if err := checkPixels(0, 7, 0); err == nil || err.Error() != "empty image (0x7)" {
		t.Errorf("checkPixels(0, 7): %v", err)
	}
}
