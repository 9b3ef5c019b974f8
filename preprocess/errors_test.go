package preprocess

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
)

// failingReader returns its data, then err instead of io.EOF.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestErrorKinds checks that each kind of bad image wraps its own
// sentinel and no other, and that the message names the file.
func TestErrorKinds(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, noiseGray(40, 40)); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	kinds := []error{ErrTooLarge, ErrUnknownFormat, ErrCorrupt}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"bomb.png", bombPNG(100000, 100000), ErrTooLarge},
		{"bomb.gif", []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"), ErrTooLarge},
		{"notes.png", []byte("these are my notes, not a picture\n"), ErrUnknownFormat},
		{"empty.jpg", nil, ErrUnknownFormat},
		{"truncated.png", full[:len(full)/2], ErrCorrupt},
		{"header_only.png", full[:33], ErrCorrupt},
		{"zero_width.png", bombPNG(0, 5), ErrCorrupt},
		{"evil.tif", hostileTIFF(), ErrCorrupt},
	} {
		path := writeTemp(t, c.name, c.data)
		_, errLoad := Load(path)
		_, errDecode := Decode(bytes.NewReader(c.data))
		for _, err := range []error{errLoad, errDecode} {
			if err == nil {
				t.Errorf("%s: no error", c.name)
				continue
			}
			for _, k := range kinds {
				if got := errors.Is(err, k); got != (k == c.want) {
					t.Errorf("%s: errors.Is(%q, %q) = %v", c.name, err, k, got)
				}
			}
		}
		if errLoad != nil && !strings.Contains(errLoad.Error(), path) {
			t.Errorf("%s: error %q does not name the file", c.name, errLoad)
		}
	}
	// ErrUnknownFormat is the standard library's image.ErrFormat.
	if _, err := Decode(strings.NewReader("plain text")); !errors.Is(err, image.ErrFormat) {
		t.Errorf("text: %v does not wrap image.ErrFormat", err)
	}
	// A truncated file keeps the decoder's own error.
	var fe png.FormatError
	if _, err := Decode(bytes.NewReader(full[:len(full)/2])); !errors.As(err, &fe) {
		t.Errorf("truncated: %v does not wrap a png.FormatError", err)
	}
}

// TestReaderFailureIsNotCorrupt checks that an error of the reader itself
// (a broken disk or connection) comes back as it is, not as ErrCorrupt.
func TestReaderFailureIsNotCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, noiseGray(40, 40)); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("connection reset")
	r := &failingReader{r: bytes.NewReader(buf.Bytes()[:buf.Len()/2]), err: broken}
	_, err := Decode(r)
	if !errors.Is(err, broken) || errors.Is(err, ErrCorrupt) {
		t.Errorf("error %v: want the reader's error, not ErrCorrupt", err)
	}
}

// TestBatchTooLarge checks that an image too thin to resize is
// ErrTooLarge, named by its index in the batch.
func TestBatchTooLarge(t *testing.T) {
	imgs := []image.Image{noiseGray(8, 8), image.NewGray(image.Rect(0, 0, 1, 1<<20))}
	_, err := Batch(imgs, Config{Size: 100})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "image 1:") {
		t.Errorf("error %v: want ErrTooLarge naming image 1", err)
	}
}

// noiseGray is a w x h grey image of a fixed pattern that PNG cannot
// compress much, so truncating the file cuts into pixel data.
func noiseGray(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	x := uint32(12345)
	for i := range img.Pix {
		x = x*1664525 + 1013904223
		img.Pix[i] = uint8(x >> 24)
	}
	return img
}
