// Command loadtest measures a running serve: throughput and latency of one
// endpoint under a number of concurrent clients.
//
//	loadtest -url http://127.0.0.1:8080 -endpoint embed -c 32 -n 500
//
// Each client sends its next request as soon as the last one is answered.
// Requests carry seeded noise images of -size pixels (PNG, multipart),
// different from request to request; search needs a gallery on the
// server. It prints requests/s, images/s and the p50 and p99 latency.
// -init-model PATH writes an untrained model (ResNet-50 at 64x64 unless
// -depth, -width and -size say otherwise) to start a server with, and
// exits.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "the server's address")
	endpoint := fs.String("endpoint", "embed", "embed (one image), compare (two) or search (one)")
	clients := fs.Int("c", 1, "concurrent clients")
	n := fs.Int("n", 200, "requests, after a warm-up of one request per client")
	size := fs.Int("size", 64, "side of the images sent; with -init-model, the model's input size")
	initModel := fs.String("init-model", "", "write an untrained model to this file and exit")
	depth := fs.Int("depth", 50, "with -init-model: ResNet depth")
	width := fs.Int("width", 0, "with -init-model: ResNet width (0: the standard 64)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *initModel != "" {
		m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: *depth, Width: *width}, Input: preprocess.Config{Size: *size}, Seed: 1})
		if err == nil {
			err = m.Save(*initModel)
		}
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		return 0
	}
	fields := map[string][]string{"embed": {"image"}, "compare": {"a", "b"}, "search": {"image"}}[*endpoint]
	if fields == nil || *clients < 1 || *n < 1 || *size < 1 {
		fmt.Fprintln(stderr, "loadtest: -endpoint must be embed, compare or search, and -c, -n and -size positive")
		return 2
	}
	target := *url + "/v1/" + *endpoint
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}

	// request i carries images made from seed i
	send := func(i int) (time.Duration, error) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for j, field := range fields {
			w, _ := mw.CreateFormFile(field, fmt.Sprintf("%d-%d.png", i, j))
			if err := png.Encode(w, noise(uint64(i*len(fields)+j), *size)); err != nil {
				return 0, err
			}
		}
		mw.Close()
		start := time.Now()
		resp, err := c.Post(target, mw.FormDataContentType(), &body)
		if err != nil {
			return 0, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(raw))
		}
		return time.Since(start), nil
	}
	if _, failed, err, _ := drive(*clients, *clients, send); failed > 0 { // warm-up
		fmt.Fprintln(stderr, "loadtest: warm-up:", err)
		return 1
	}
	lat, failed, firstErr, wall := drive(*clients, *n, send)
	if len(lat) == 0 {
		fmt.Fprintln(stderr, "loadtest: every request failed:", firstErr)
		return 1
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	rate := float64(len(lat)) / wall.Seconds()
	fmt.Fprintf(stdout, "%s: %d clients, %d requests in %.2fs: %.1f requests/s, %.1f images/s, latency p50 %.1f ms, p99 %.1f ms, %d errors\n",
		*endpoint, *clients, *n, wall.Seconds(), rate, rate*float64(len(fields)), ms(percentile(lat, 50)), ms(percentile(lat, 99)), failed)
	if failed > 0 {
		fmt.Fprintln(stderr, "loadtest: first error:", firstErr)
		return 1
	}
	return 0
}

// drive sends n requests from clients goroutines and returns the
// latencies of those that succeeded, the number that failed, the first
// error and the wall time.
func drive(clients, n int, send func(int) (time.Duration, error)) ([]time.Duration, int, error, time.Duration) {
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				d, err := send(i)
				mu.Lock()
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, failed, first, time.Since(start)
}

// percentile returns the p-th percentile of sorted durations (nearest
// rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

// noise returns a size x size RGB image of pseudo-random values, the same
// for the same seed.
func noise(seed uint64, size int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	v := detrand.Uniform(fmt.Sprint("loadtest-", seed), len(img.Pix), 0, 256)
	for i := range img.Pix {
		img.Pix[i] = uint8(v[i])
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255 // opaque
	}
	return img
}
