package main

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad sends 2,000 requests (compare, embed, search and a few gallery
// additions) from 32 clients at once to a tiny model: every one succeeds,
// images share forward passes, no goroutine is left behind and the heap
// does not grow with the number of requests.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	m, _ := tinyModel(t)
	opt := testOptions()
	opt.maxInflight = 64
	_, ts := startServer(t, m, opt, galleryDir(t))
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	imgs := [][]byte{stripes(t, red, 0), stripes(t, blue, 2), stripes(t, green, 4), stripes(t, red, 5)}
	compare := jsonBodyOf(t, map[string]string{"a": b64(imgs[0]), "b": b64(imgs[1])})
	embedCT, embed := multipartBody(t, []file{{"image", "a.png", imgs[2]}, {"image", "b.png", imgs[3]}}, nil)
	searchCT, search := multipartBody(t, []file{{"image", "q.png", imgs[1]}}, map[string]string{"k": "2"})
	var added atomic.Int64
	send := func(i int) error {
		var code int
		var raw []byte
		switch i % 4 {
		case 0:
			code, raw = post(t, c, ts.URL+"/v1/compare", "application/json", compare, nil)
		case 1:
			code, raw = post(t, c, ts.URL+"/v1/embed", embedCT, embed, nil)
		case 2:
			code, raw = post(t, c, ts.URL+"/v1/search", searchCT, search, nil)
		case 3:
			if i%100 == 3 { // a few additions: the gallery grows a little
				ct, body := multipartBody(t, []file{{"image", fmt.Sprint("added/", added.Add(1), ".png"), imgs[i%len(imgs)]}}, nil)
				code, raw = post(t, c, ts.URL+"/v1/gallery", ct, body, nil)
			} else {
				code, raw = post(t, c, ts.URL+"/v1/search", "application/json", jsonBodyOf(t, map[string]any{"image": b64(imgs[i%len(imgs)]), "k": 0}), nil)
			}
		}
		if code != http.StatusOK {
			return fmt.Errorf("request %d: %d %s", i, code, raw)
		}
		return nil
	}
	load := func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if err := send(i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	load(200) // warm-up: graphs compiled, connections open
	goroutines := runtime.NumGoroutine()
	heap := heapAlloc()
	before, _ := parseMetric(scrape(t, c, ts.URL), "serve_images_embedded_total")
	start := time.Now()
	const n = 2000
	load(n)
	t.Logf("%d requests in %v", n, time.Since(start))

	text := scrape(t, c, ts.URL)
	after, _ := parseMetric(text, "serve_images_embedded_total")
	passes, _ := parseMetric(text, "serve_batch_images_count")
	if want := float64(n) * 1.2; after-before < want { // 2 images a compare or an embed, 1 a search
		t.Errorf("%v images embedded for %d requests, want at least %v", after-before, n, want)
	}
	if passes >= after {
		t.Errorf("%v forward passes for %v images: none shared", passes, after)
	}
	// goroutines: the same after settling (connections idle, handlers done)
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > goroutines+4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines after the load, %d before", runtime.NumGoroutine(), goroutines)
			break
		}
	}
	if h := heapAlloc(); h > 2*heap+32<<20 {
		t.Errorf("heap %d MiB after %d requests, %d MiB after the warm-up", h>>20, n, heap>>20)
	}
}

// heapAlloc returns the live heap after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
