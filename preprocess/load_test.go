package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.jpg")
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error for a missing file")
	}
	if !strings.HasPrefix(err.Error(), "preprocess: ") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q should start with preprocess: and name %s", err, path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q should wrap fs.ErrNotExist", err)
	}
}

// TestLoadDirectory: a folder given as an image says so.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if want := "preprocess: " + dir + ": is a directory"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EISDIR) {
		t.Errorf("error %v does not wrap syscall.EISDIR", err)
	}
}

func TestLoadCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, []byte("this is not an image at all \x00\x01\x02"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error for a corrupt file")
	}
	want := "preprocess: " + path + ": image: unknown format"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if _, err := Decode(bytes.NewReader([]byte("garbage"))); err == nil || !strings.HasPrefix(err.Error(), "preprocess: ") {
		t.Errorf("Decode garbage: err = %v", err)
	}
	if _, err := Decode(nil); err == nil {
		t.Error("Decode(nil): no error")
	}
}

func TestLoadPNG(t *testing.T) {
	m := tiny2x2()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Pixels(img, Config{Size: 2, Norm: UnitRange})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Pixels(m, Config{Size: 2, Norm: UnitRange})
	checkExact(t, "png round trip", got, want)
}

// exifOrientation returns an APP1 Exif segment (marker included) holding a
// little-endian TIFF header and one IFD with the Orientation tag.
func exifOrientation(o uint16) []byte {
	var tiff bytes.Buffer
	le := binary.LittleEndian
	tiff.WriteString("II")
	binary.Write(&tiff, le, uint16(42))
	binary.Write(&tiff, le, uint32(8)) // IFD0 offset
	binary.Write(&tiff, le, uint16(1)) // one entry
	binary.Write(&tiff, le, uint16(0x0112))
	binary.Write(&tiff, le, uint16(3)) // SHORT
	binary.Write(&tiff, le, uint32(1)) // count
	binary.Write(&tiff, le, o)
	binary.Write(&tiff, le, uint16(0)) // padding of the 4-byte value field
	binary.Write(&tiff, le, uint32(0)) // no next IFD

	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	return append(seg, payload...)
}

// orientedJPEG encodes a 16x8 image, left half red and right half blue,
// with an Exif orientation tag spliced in after SOI when o != 0.
func orientedJPEG(t *testing.T, o uint16) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 8 {
				c = color.RGBA{0, 0, 255, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if b[0] != 0xFF || b[1] != 0xD8 {
		t.Fatal("no SOI")
	}
	if o == 0 {
		return b
	}
	out := append([]byte{0xFF, 0xD8}, exifOrientation(o)...)
	return append(out, b[2:]...)
}

func TestExifOrientation(t *testing.T) {
	plain, err := Decode(bytes.NewReader(orientedJPEG(t, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if b := plain.Bounds(); b.Dx() != 16 || b.Dy() != 8 {
		t.Fatalf("untagged JPEG bounds = %v, want 16x8", b)
	}

	data := orientedJPEG(t, 6)
	path := filepath.Join(t.TempDir(), "rotated.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fromReader, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]image.Image{"Load": fromFile, "Decode": fromReader} {
		b := img.Bounds()
		if b.Dx() != 8 || b.Dy() != 16 {
			t.Fatalf("%s: bounds = %v, want 8x16 (rotated)", name, b)
		}
		// Orientation 6: rotate 90 degrees clockwise for display, so the
		// left (red) half ends up on top and the blue half at the bottom.
		r, _, bl, _ := img.At(b.Min.X+4, b.Min.Y+2).RGBA()
		if r < 0xC000 || bl > 0x4000 {
			t.Errorf("%s: top pixel (r=%#x b=%#x) is not red", name, r, bl)
		}
		r, _, bl, _ = img.At(b.Min.X+4, b.Max.Y-3).RGBA()
		if bl < 0xC000 || r > 0x4000 {
			t.Errorf("%s: bottom pixel (r=%#x b=%#x) is not blue", name, r, bl)
		}
	}
}

func TestIsImageFile(t *testing.T) {
	for name, want := range map[string]bool{
		"a.png": true, "dir/b.JPG": true, "c.jpeg": true, "d.gif": true, "e.bmp": true,
		"f.tif": true, "g.TIFF": true, "h.webp": true, "notes.txt": false, "png": false,
		"archive.zip": false, "x.png.bak": false, "dir.png/file": false,
		"face.pgm": true, "s1/1.PGM": true, "c.ppm": true, "b.pbm": true, "any.pnm": true, "a.pam": true,
	} {
		if got := IsImageFile(name); got != want {
			t.Errorf("IsImageFile(%q) = %v, want %v", name, got, want)
		}
	}
}
