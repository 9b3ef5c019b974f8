package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"os/signal"

	"github.com/gosiamese/gosiamese/siamese"
)

// TestEndpoints: each endpoint answers a well-formed request, in both
// encodings, with what the library gives for the same images.
func TestEndpoints(t *testing.T) {
	m, _ := tinyModel(t)
	_, ts := startServer(t, m, testOptions(), galleryDir(t))
	c := ts.Client()
	a, b := stripes(t, red, 0), stripes(t, blue, 1)

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}

	// compare
	want, err := m.Compare(decode(t, a), decode(t, b))
	if err != nil {
		t.Fatal(err)
	}
	ct, body := multipartBody(t, []file{{"a", "a.png", a}, {"b", "b.png", b}}, nil)
	for _, req := range []struct {
		ct   string
		body []byte
	}{
		{ct, body},
		{"application/json", jsonBodyOf(t, map[string]string{"a": b64(a), "b": b64(b)})},
	} {
		var got compareResponse
		if code, raw := post(t, c, ts.URL+"/v1/compare", req.ct, req.body, &got); code != http.StatusOK {
			t.Fatalf("compare (%s): %d %s", req.ct, code, raw)
		}
		if got.Score != float64(want) || got.Same != m.Same(want) || got.Threshold != m.Threshold() {
			t.Errorf("compare (%s): %+v, want score %v", req.ct, got, want)
		}
	}

	// embed
	wantEmb, err := m.EmbedBatch([]image.Image{decode(t, a), decode(t, b)})
	if err != nil {
		t.Fatal(err)
	}
	ct, body = multipartBody(t, []file{{"image", "a.png", a}, {"image", "b.png", b}}, nil)
	for _, req := range []struct {
		ct   string
		body []byte
	}{
		{ct, body},
		{"application/json", jsonBodyOf(t, map[string][]string{"images": {b64(a), b64(b)}})},
	} {
		var got embedResponse
		if code, raw := post(t, c, ts.URL+"/v1/embed", req.ct, req.body, &got); code != http.StatusOK {
			t.Fatalf("embed (%s): %d %s", req.ct, code, raw)
		}
		if len(got.Embeddings) != 2 || !slices.Equal(got.Embeddings[0], wantEmb[0]) || !slices.Equal(got.Embeddings[1], wantEmb[1]) {
			t.Errorf("embed (%s): embeddings differ from the model's", req.ct)
		}
	}

	// search, by image and by embedding
	ct, body = multipartBody(t, []file{{"image", "q.png", a}}, map[string]string{"k": "3"})
	var byImage searchResponse
	if code, raw := post(t, c, ts.URL+"/v1/search", ct, body, &byImage); code != http.StatusOK {
		t.Fatalf("search: %d %s", code, raw)
	}
	if len(byImage.Matches) != 3 || byImage.Matches[0].ID != "red/r1.png" {
		t.Errorf("search: %+v, want 3 matches, red/r1.png first", byImage.Matches)
	}
	var byEmb searchResponse
	req := jsonBodyOf(t, map[string]any{"embedding": wantEmb[0], "k": 3})
	if code, raw := post(t, c, ts.URL+"/v1/search", "application/json", req, &byEmb); code != http.StatusOK {
		t.Fatalf("search by embedding: %d %s", code, raw)
	}
	if fmt.Sprint(byEmb) != fmt.Sprint(byImage) {
		t.Errorf("search by embedding %+v, by image %+v", byEmb, byImage)
	}

	// gallery: add, count, find
	var added addResponse
	fresh := stripes(t, green, 3)
	ct, body = multipartBody(t, []file{{"image", "new.png", fresh}}, nil)
	if code, raw := post(t, c, ts.URL+"/v1/gallery", ct, body, &added); code != http.StatusOK {
		t.Fatalf("gallery: %d %s", code, raw)
	}
	req = jsonBodyOf(t, map[string]any{"references": []map[string]string{{"id": "json/one.png", "image": b64(stripes(t, green, 4))}}})
	if code, raw := post(t, c, ts.URL+"/v1/gallery", "application/json", req, &added); code != http.StatusOK {
		t.Fatalf("gallery (JSON): %d %s", code, raw)
	}
	if added.Added != 1 || added.References != 6 {
		t.Errorf("gallery: %+v, want 1 added, 6 references", added)
	}
	resp, err := c.Get(ts.URL + "/v1/gallery")
	if err != nil {
		t.Fatal(err)
	}
	var size map[string]int
	json.NewDecoder(resp.Body).Decode(&size)
	resp.Body.Close()
	if size["references"] != 6 {
		t.Errorf("GET /v1/gallery: %v", size)
	}
	var found searchResponse
	if code, raw := post(t, c, ts.URL+"/v1/search", "application/json", jsonBodyOf(t, map[string]any{"image": b64(fresh), "k": 1}), &found); code != http.StatusOK {
		t.Fatalf("search: %d %s", code, raw)
	}
	if len(found.Matches) != 1 || found.Matches[0].ID != "new.png" {
		t.Errorf("search after adding: %+v, want new.png", found.Matches)
	}

	// metrics
	text := scrape(t, c, ts.URL)
	for _, re := range []string{
		`serve_requests_total\{code="200",endpoint="compare"\} 2`,
		`serve_requests_total\{code="200",endpoint="search"\} 3`,
		`serve_request_duration_seconds_count\{endpoint="embed"\} 2`,
		`serve_images_embedded_total 1[0-9]`, // 4 loaded, 4 compared, 4 embedded, 2 searched, 2 added
		`serve_batch_images_count [1-9]`,
		`serve_gallery_references 6`,
		`serve_queued_images 0`,
		`go_goroutines`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("metrics lack %s", re)
		}
	}
}

func scrape(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

// bigPNG is a w x h PNG of one colour (small to send, large to decode).
func bigPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestErrors: every kind of bad request gets its status and a JSON error
// that says what is wrong.
func TestErrors(t *testing.T) {
	m, _ := tinyModel(t)
	opt := testOptions()
	opt.maxBody = 256 << 10
	opt.maxImages = 3
	opt.maxPixels = 100 * 100
	s, ts := startServer(t, m, opt, galleryDir(t))
	c := ts.Client()
	img := stripes(t, red, 0)
	js := "application/json"
	multi := func(files []file, values map[string]string) (string, []byte) { return multipartBody(t, files, values) }
	one := func(field string) []file { return []file{{field, "x.png", img}} }

	type req struct {
		path, ct string
		body     []byte
	}
	jsonReq := func(path string, v any) req { return req{path, js, jsonBodyOf(t, v)} }
	multiReq := func(path string, files []file, values map[string]string) req {
		ct, body := multi(files, values)
		return req{path, ct, body}
	}
	truncated := img[:len(img)/2]
	cases := []struct {
		name string
		req  req
		code int
		want string
	}{
		{"malformed JSON", req{"/v1/compare", js, []byte(`{"a": `)}, 400, "JSON"},
		{"unknown field", jsonReq("/v1/compare", map[string]string{"a": b64(img), "c": b64(img)}), 400, `"c"`},
		{"two JSON values", req{"/v1/embed", js, []byte(`{} {}`)}, 400, "more than one"},
		{"missing image", jsonReq("/v1/compare", map[string]string{"a": b64(img)}), 400, `field "b"`},
		{"field of another endpoint", multiReq("/v1/embed", one("a"), nil), 400, `"a"`},
		{"not base64", jsonReq("/v1/embed", map[string]string{"image": "!!"}), 400, "base64"},
		{"bad k", multiReq("/v1/search", one("image"), map[string]string{"k": "many"}), 400, "k"},
		{"negative k", jsonReq("/v1/search", map[string]any{"image": b64(img), "k": -1}), 400, "k"},
		{"image and embedding", jsonReq("/v1/search", map[string]any{"image": b64(img), "embedding": []float32{1}}), 400, "not both"},
		{"no boundary", req{"/v1/embed", "multipart/form-data", []byte("x")}, 400, "boundary"},
		{"broken form", req{"/v1/embed", "multipart/form-data; boundary=zz", []byte("--zz\r\nbroken")}, 400, "multipart"},
		{"reference without id", jsonReq("/v1/gallery", map[string]any{"references": []map[string]string{{"image": b64(img)}}}), 400, "id"},
		{"body too large", multiReq("/v1/embed", []file{{"image", "x.png", make([]byte, 300<<10)}}, nil), 413, "too large"},
		{"image too large", multiReq("/v1/embed", []file{{"image", "big.png", bigPNG(t, 200, 200)}}, nil), 413, "big.png"},
		{"too many images", multiReq("/v1/embed", slices.Repeat(one("image"), 4), nil), 413, "too many"},
		{"too many in JSON", jsonReq("/v1/embed", map[string][]string{"images": {b64(img), b64(img), b64(img), b64(img)}}), 413, "too many"},
		{"not an image", multiReq("/v1/compare", []file{{"a", "a.txt", []byte("hello")}, {"b", "b.png", img}}, nil), 415, "a.txt"},
		{"truncated image", jsonReq("/v1/compare", map[string]string{"a": b64(img), "b": b64(truncated)}), 415, "corrupt"},
		{"plain text body", req{"/v1/embed", "text/plain", []byte("hi")}, 415, "content type"},
		{"no content type", req{"/v1/embed", "", []byte("hi")}, 415, "content type"},
		{"embedding of the wrong length", jsonReq("/v1/search", map[string]any{"embedding": []float32{1, 2, 3}}), 422, "length 3"},
		{"duplicate id", multiReq("/v1/gallery", []file{{"image", "red/r1.png", img}}, nil), 422, "duplicate"},
	}
	for _, tc := range cases {
		code, raw := post(t, c, ts.URL+tc.req.path, tc.req.ct, tc.req.body, nil)
		checkError(t, tc.name, code, raw, tc.code, tc.want)
	}

	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{{"GET", "/v1/compare", 405, "POST"}, {"GET", "/nothing", 404, ""}, {"DELETE", "/v1/gallery", 405, "GET, POST"}} {
		r, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, tc.method+" "+tc.path, resp.StatusCode, raw, tc.code, "")
		if allow := resp.Header.Get("Allow"); allow != tc.allow {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, allow)
		}
	}

	// an empty gallery
	_, empty := startServer(t, m, opt, "")
	code, raw := post(t, empty.Client(), empty.URL+"/v1/search", js, jsonBodyOf(t, map[string]string{"image": b64(img)}), nil)
	checkError(t, "empty gallery", code, raw, 422, "empty")

	// not ready, then stopping
	s.loaded.Store(false)
	code, raw = post(t, c, ts.URL+"/v1/compare", js, jsonBodyOf(t, map[string]string{"a": b64(img), "b": b64(img)}), nil)
	checkError(t, "not ready", code, raw, 503, "not ready")
	if resp, err := c.Get(ts.URL + "/readyz"); err != nil || resp.StatusCode != 503 {
		t.Errorf("readyz while loading: %v %v", resp.StatusCode, err)
	}
	s.loaded.Store(true)
	s.stopping.Store(true)
	code, raw = post(t, c, ts.URL+"/v1/compare", js, jsonBodyOf(t, map[string]string{"a": b64(img), "b": b64(img)}), nil)
	checkError(t, "stopping", code, raw, 503, "shutting down")
	s.stopping.Store(false)
}

func checkError(t *testing.T, name string, code int, raw []byte, wantCode int, want string) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
		t.Errorf("%s: answer %q is not a JSON error", name, raw)
	}
	if code != wantCode || !strings.Contains(e.Error, want) {
		t.Errorf("%s: %d %q, want %d and %q", name, code, e.Error, wantCode, want)
	}
}

// TestOverload: a request over the in-flight limit, one over the queue's
// bound and one past its time limit get 503. A lone image waits an hour
// for company here, so the first request stays in flight until its
// client gives up or its time runs out.
func TestOverload(t *testing.T) {
	m, _ := tinyModel(t)
	body := jsonBodyOf(t, map[string]string{"image": b64(stripes(t, red, 0))})
	for _, tc := range []struct {
		name     string
		inflight int
		queue    int
		timeout  time.Duration
		want     string
	}{
		{"in flight", 1, 64, time.Minute, "too many requests"},
		{"queue", 8, 1, time.Minute, "queue is full"},
		{"time limit", 8, 64, 200 * time.Millisecond, "timed out after 200ms"},
	} {
		opt := testOptions()
		opt.maxInflight = tc.inflight
		opt.batcher = siamese.BatcherConfig{MaxWait: time.Hour, MaxQueue: tc.queue}
		opt.timeout = tc.timeout
		s, ts := startServer(t, m, opt, "")
		c := ts.Client()
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/embed", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(r)
			if err == nil {
				resp.Body.Close()
			}
			first <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); s.batcher.Len() != 1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the first request never queued")
			}
		}
		code, raw := post(t, c, ts.URL+"/v1/embed", "application/json", body, nil)
		checkError(t, tc.name, code, raw, 503, tc.want)
		cancel()
		<-first
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestShutdown runs the command on a real port: it loads a gallery, gets
// ready, and on SIGTERM answers the request in flight before it exits 0.
func TestShutdown(t *testing.T) {
	_, path := tinyModel(t)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM) // as main does
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"-model", path, "-gallery", galleryDir(t), "-addr", "127.0.0.1:0", "-max-wait", "1s"}, &stdout, &stderr)
	}()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no address printed; stderr: %s", stderr.String())
		}
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
	}
	c := &http.Client{}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := c.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready; stderr: %s", stderr.String())
		}
	}
	inflight := make(chan int, 1)
	go func() {
		code, raw := post(t, c, url+"/v1/embed", "application/json", jsonBodyOf(t, map[string]string{"image": b64(stripes(t, red, 0))}), nil)
		if code != 200 {
			t.Errorf("request in flight at shutdown: %d %s", code, raw)
		}
		inflight <- code
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(scrape(t, c, url), "serve_queued_images 1"); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never queued")
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	if code := <-inflight; code != 200 {
		t.Errorf("request in flight: %d", code)
	}
	if _, err := c.Get(url + "/healthz"); err == nil {
		t.Error("the server still answers after it stopped")
	}
	if !strings.Contains(stderr.String(), "gallery loaded") || !strings.Contains(stderr.String(), "references=4") {
		t.Errorf("log: %s", stderr.String())
	}
}

// TestRunErrors: bad flags and files end the command with a message.
func TestRunErrors(t *testing.T) {
	_, path := tinyModel(t)
	dir := t.TempDir()
	bad := dir + "/bad.png"
	os.WriteFile(bad, []byte("garbage"), 0o644)
	os.Mkdir(dir+"/refs", 0o755)
	os.WriteFile(dir+"/refs/bad.png", []byte("garbage"), 0o644)
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{nil, 2, "need -model"},
		{[]string{"-bogus"}, 2, "bogus"},
		{[]string{"-model", path, "-max-batch", "3"}, 2, "MaxBatch"},
		{[]string{"-model", path, "-timeout", "0s"}, 2, "positive"},
		{[]string{"-model", bad, "-addr", "127.0.0.1:0"}, 1, "bad.png"},
		{[]string{"-model", path, "-addr", "127.0.0.1:0", "-gallery", dir + "/none"}, 1, "none"},
		{[]string{"-model", path, "-addr", "127.0.0.1:0", "-gallery", dir + "/refs"}, 1, "bad.png"},
	}
	for _, c := range cases {
		var out, errOut syncBuffer
		rc := run(context.Background(), c.args, &out, &errOut)
		if rc != c.rc || !strings.Contains(errOut.String(), c.want) || strings.Contains(errOut.String(), "goroutine ") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
}

// parseMetric reads one unlabelled sample from a scrape.
func parseMetric(text, name string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}
