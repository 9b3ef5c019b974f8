package imageread

import (
	"bytes"
	"image"
	"io"
	"strings"
	"testing"
	"time"

	_ "github.com/spakin/netpbm"
)

// decode runs image.Decode of Guard(data) under Catch, failing the test
// if it does not return within a few seconds (the unguarded decoder
// loops forever on some of these inputs).
func decode(t *testing.T, data string) (image.Image, error) {
	t.Helper()
	type result struct {
		img image.Image
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		defer Catch(&r.err)
		r.img, _, r.err = image.Decode(Guard(strings.NewReader(data)))
	}()
	select {
	case r := <-done:
		return r.img, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("decoding %q did not return", data)
		return nil, nil
	}
}

func TestGuardEndsComments(t *testing.T) {
	for _, c := range []struct {
		data      string
		badHeader bool
	}{
		{"P2  #", true},                       // the header ends inside a comment
		{"P5\n2 2\n# no line end", true},      // a binary file's header, too
		{"P6 # comment\r", true},              // a comment closed by \r, then the end
		{"P1\n2 2\n0 1\n1 # no digit", false}, // a plain raster ends in a comment
		{"P3\n1 1\n255\n1 2 #", false},
	} {
		if _, err := decode(t, c.data); err == nil {
			t.Errorf("%q: no error", c.data)
		}
		if _, _, err := DecodeConfig(strings.NewReader(c.data)); (err != nil) != c.badHeader {
			t.Errorf("%q: DecodeConfig error %v, want an error: %v", c.data, err, c.badHeader)
		}
	}
}

func TestGuardKeepsGoodFiles(t *testing.T) {
	// A plain file may end in a comment without a line end: the newline
	// Guard adds closes it.
	img, err := decode(t, "P2\n2 1\n255\n7 200 # the end")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(1, 0).RGBA(); r != 200*257 {
		t.Errorf("pixel 1 = %d, want %d", r, 200*257)
	}
	// A binary raster whose header holds comments and \r line ends.
	img, err = decode(t, "P5 # a\r2 #b\n1\r255\n\x10\x20")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(0, 0).RGBA(); r != 0x10*257 {
		t.Errorf("pixel 0 = %#x, want %#x", r, 0x10*257)
	}
	// Other formats pass unchanged, byte for byte.
	png := "\x89PNG\r\n\x1a\n#"
	b, err := io.ReadAll(Guard(strings.NewReader(png)))
	if err != nil || string(b) != png {
		t.Errorf("PNG bytes read as %q, %v", b, err)
	}
}

// TestGuardKeepsTruncation: a binary raster one byte short is an error,
// not a raster completed by the newline.
func TestGuardKeepsTruncation(t *testing.T) {
	for _, data := range []string{"P5\n2 2\n255\n\x01\x02\x03", "P6\n1 1\n255\n\x01\x02"} {
		if _, err := decode(t, data); err == nil {
			t.Errorf("%q: truncated raster decoded", data)
		}
	}
	b, _ := io.ReadAll(Guard(strings.NewReader("P5\n2 2\n255\n\x01")))
	if !bytes.Equal(b, []byte("P5\n2 2\n255\n\x01")) {
		t.Errorf("binary file read as %q", b)
	}
}

// TestCatch: a decoder's panic (the Netpbm decoder panics on a PAM header
// of a tuple type it does not support) is an error.
func TestCatch(t *testing.T) {
	data := "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 1\nTUPLTYPE BLACKANDWHITE_ALPHA\nENDHDR\n\x01\x01"
	_, _, err := DecodeConfig(strings.NewReader(data))
	if err == nil || !strings.HasPrefix(err.Error(), "corrupt image: decoder failed: ") {
		t.Errorf("err = %v, want corrupt image: decoder failed: ...", err)
	}
}
