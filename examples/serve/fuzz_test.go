package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeRequest feeds any body under any content type to the request
// decoder and the image decoder: neither panics, a failure is a client
// error (400, 413 or 415), and what passes keeps within the limits.
func FuzzDecodeRequest(f *testing.F) {
	img := stripes(f, red, 0)
	f.Add("application/json", jsonBodyOf(f, map[string]string{"a": b64(img), "b": b64(img)}))
	f.Add("application/json", jsonBodyOf(f, map[string]any{"references": []map[string]string{{"id": "x/y.png", "image": b64(img)}}, "k": 3}))
	f.Add("application/json", []byte(`{"embedding": [1, 2.5, -3e38], "images": ["", "AAAA"]}`))
	ct, body := multipartBody(f, []file{{"image", "a.png", img}, {"image", "b.png", img[:40]}}, map[string]string{"k": "2"})
	f.Add(ct, body)
	f.Add("multipart/form-data; boundary=zz", []byte("--zz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a/b.png\"\r\n\r\nGIF89a\r\n--zz--\r\n"))
	f.Add("text/plain", []byte("hello"))
	lim := limits{maxBody: 1 << 16, maxImages: 3, maxPixels: 1 << 12}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/embed", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		p, err := decodeRequest(httptest.NewRecorder(), r, lim)
		if err != nil {
			if code := statusOf(err); code != 400 && code != 413 && code != 415 {
				t.Fatalf("request error %q: status %d", err, code)
			}
			return
		}
		if len(p.parts) > lim.maxImages {
			t.Fatalf("%d images passed a limit of %d", len(p.parts), lim.maxImages)
		}
		imgs, err := decodeImages(p.parts, lim.maxPixels)
		if err != nil {
			if code := statusOf(err); code != 413 && code != 415 {
				t.Fatalf("image error %q: status %d", err, code)
			}
			return
		}
		for _, img := range imgs {
			if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > lim.maxPixels {
				t.Fatalf("a %v image passed a limit of %d pixels", b, lim.maxPixels)
			}
		}
	})
}
