package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
)

// tinyModel is modeltest's small model file and the model loaded from
// it.
func tinyModel(t testing.TB) (*siamese.Model, string) {
	t.Helper()
	path := modeltest.Siamese(t, t.TempDir(), 7)
	m, err := siamese.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m, path
}

// stripes returns a PNG of vertical stripes of c, 6 pixels wide, on
// white, shifted by shift pixels.
func stripes(t testing.TB, c color.NRGBA, shift int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 36))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for x := range 40 {
		if (x+shift)/6%2 == 1 {
			draw.Draw(img, image.Rect(x, 0, x+1, 36), image.NewUniform(c), image.Point{}, draw.Src)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	red   = color.NRGBA{200, 20, 20, 255}
	green = color.NRGBA{20, 160, 20, 255}
	blue  = color.NRGBA{20, 20, 200, 255}
)

// galleryDir writes a gallery folder: two class folders and one loose
// image, plus files to be skipped.
func galleryDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"red/r1.png":    stripes(t, red, 0),
		"red/r2.png":    stripes(t, red, 3),
		"blue/b1.png":   stripes(t, blue, 1),
		"green.png":     stripes(t, green, 2),
		"notes.txt":     []byte("not an image"),
		".hidden/x.png": stripes(t, red, 5),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testOptions are the command's defaults, scaled down where a test
// needs it.
func testOptions() options {
	return options{
		limits:      limits{maxBody: 1 << 20, maxImages: 8, maxPixels: 1 << 20},
		timeout:     time.Minute,
		maxInflight: 64,
		batcher:     siamese.BatcherConfig{MaxWait: time.Millisecond},
	}
}

// startServer serves m through httptest with opt; gallery, if not "",
// is loaded first.
func startServer(t testing.TB, m *siamese.Model, opt options, gallery string) (*server, *httptest.Server) {
	t.Helper()
	s, err := newServer(m, opt, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if gallery != "" {
		if err := s.loadGallery(t.Context(), gallery); err != nil {
			t.Fatal(err)
		}
	}
	s.loaded.Store(true)
	ts := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		ts.Close()
		s.close()
	})
	return s, ts
}

// file is one multipart file part.
type file struct {
	field, name string
	data        []byte
}

// multipartBody encodes files and values as a multipart form.
func multipartBody(t testing.TB, files []file, values map[string]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	for k, v := range values {
		mw.WriteField(k, v)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

func jsonBodyOf(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to url and decodes the JSON answer into out (when not
// nil); it returns the status code and the raw answer.
func post(t testing.TB, c *http.Client, url, contentType string, body []byte, out any) (int, []byte) {
	t.Helper()
	resp, err := c.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", url, ct)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v in %s", url, err, raw)
		}
	}
	return resp.StatusCode, raw
}

func decode(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := preprocess.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
