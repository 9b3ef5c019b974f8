package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// testGray returns a w x h grey image with a pattern keyed by k.
func testGray(w, h, k int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Pix[y*m.Stride+x] = uint8((x*7 + y*13 + k*41 + x*y*k) % 256)
		}
	}
	return m
}

// pngBytes encodes img as PNG.
func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegBytes encodes img as JPEG.
func jpegBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes b to path, creating folders.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// samePixels reports whether two images have the same bounds and colours.
func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.RGBA64Model.Convert(a.At(x, y)) != color.RGBA64Model.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

// memoryDataset returns a Memory data set with sizes[c] images of class c,
// each w x w.
func memoryDataset(t *testing.T, w int, sizes ...int) *Memory {
	t.Helper()
	var imgs []image.Image
	var classes []int
	for c, n := range sizes {
		for k := 0; k < n; k++ {
			imgs = append(imgs, testGray(w, w, len(imgs)+1))
			classes = append(classes, c)
		}
	}
	m, err := NewMemory(imgs, classes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
