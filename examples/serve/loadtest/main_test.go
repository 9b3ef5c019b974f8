package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/siamese"
)

// TestLoadtest runs the command against a stand-in server that checks
// each request's images and fails some on request.
func TestLoadtest(t *testing.T) {
	var seen atomic.Int64
	var failFrom atomic.Int64
	failFrom.Store(1 << 30)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/compare" || r.ParseMultipartForm(1<<20) != nil || len(r.MultipartForm.File["a"]) != 1 || len(r.MultipartForm.File["b"]) != 1 {
			http.Error(w, `{"error": "bad"}`, http.StatusBadRequest)
			return
		}
		if seen.Add(1) > failFrom.Load() {
			http.Error(w, `{"error": "overloaded"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"score": 0.5}`))
	}))
	defer ts.Close()
	var out, errOut bytes.Buffer
	if rc := run([]string{"-url", ts.URL, "-endpoint", "compare", "-c", "4", "-n", "40", "-size", "16"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	re := regexp.MustCompile(`^compare: 4 clients, 40 requests in [0-9.]+s: [0-9.]+ requests/s, [0-9.]+ images/s, latency p50 [0-9.]+ ms, p99 [0-9.]+ ms, 0 errors\n$`)
	if !re.MatchString(out.String()) {
		t.Errorf("report %q", out.String())
	}
	if n := seen.Load(); n != 44 {
		t.Errorf("the server saw %d requests, want 40 and 4 to warm up", n)
	}
	out.Reset()
	errOut.Reset()
	failFrom.Store(seen.Load() + 1 + 10) // the warm-up, then 10 good
	if rc := run([]string{"-url", ts.URL, "-endpoint", "compare", "-n", "20", "-size", "16"}, &out, &errOut); rc != 1 || !strings.Contains(out.String(), "10 errors") || !strings.Contains(errOut.String(), "503") {
		t.Errorf("exit %d, %q, %q: want 1, 10 errors and the server's 503", rc, out.String(), errOut.String())
	}
	if rc := run([]string{"-endpoint", "nothing"}, &out, &errOut); rc != 2 {
		t.Errorf("an unknown endpoint: exit %d", rc)
	}
}

func TestInitModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	var out, errOut bytes.Buffer
	if rc := run([]string{"-init-model", path, "-depth", "18", "-width", "8", "-size", "32"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	m, err := siamese.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); c.Encoder.Depth != 18 || c.Encoder.Width != 8 || c.Input.Size != 32 {
		t.Errorf("config %+v", c)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i))
	}
	if p50, p99 := percentile(d, 50), percentile(d, 99); p50 != 100 || p99 != 198 {
		t.Errorf("p50 %v, p99 %v; want 100 and 198", p50, p99)
	}
	if p := percentile(d[:1], 99); p != 1 {
		t.Errorf("one sample: p99 %v", p)
	}
}
