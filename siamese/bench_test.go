package siamese

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGallerySearch scores one query against a gallery of embedded
// references (512 values each, the default head) and reports comparisons
// per second: go test -run XXX -bench GallerySearch ./siamese
func BenchmarkGallerySearch(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchGallery(b, n) })
	}
}

func benchGallery(b *testing.B, n int) {
	m := tinyModel(b, func(c *Config) { c.Hidden = []int{512} })
	rng := rand.New(rand.NewPCG(1, 2))
	emb := func() Embedding {
		e := make(Embedding, 512)
		for i := range e {
			e[i] = rng.Float32()
		}
		return e
	}
	ids := make([]string, n)
	embs := make([]Embedding, n)
	for i := range ids {
		ids[i], embs[i] = fmt.Sprint(i), emb()
	}
	g := &Gallery{m: m}
	if err := g.AddEmbeddings(ids, embs); err != nil {
		b.Fatal(err)
	}
	q := emb()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := g.SearchEmbedding(q, 5); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "comparisons/s")
}

// Embedding throughput of the default model (ResNet-50, 64x64): n
// goroutines each embedding one image at a time, through a Batcher
// (default config) and through Model.Embed, against one caller's
// EmbedBatch of 32. An op is one image; images/s is the throughput and
// p50-ms and p99-ms the latency of one request:
//
//	go test -run XXX -bench 'EmbedConcurrent|EmbedBatch32' -benchtime 128x ./siamese
func BenchmarkEmbedConcurrent(b *testing.B) {
	m, imgs := benchModel(b)
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("batcher/goroutines%d", n), func(b *testing.B) {
			bt, err := m.NewBatcher(BatcherConfig{})
			if err != nil {
				b.Fatal(err)
			}
			defer bt.Close()
			benchConcurrent(b, n, imgs, func(img image.Image) error {
				_, err := bt.Embed(context.Background(), img)
				return err
			})
		})
	}
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("model/goroutines%d", n), func(b *testing.B) {
			benchConcurrent(b, n, imgs, func(img image.Image) error {
				_, err := m.Embed(img)
				return err
			})
		})
	}
}

func BenchmarkEmbedBatch32(b *testing.B) {
	m, imgs := benchModel(b)
	batch := imgs[:32]
	if _, err := m.EmbedBatch(batch); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		if _, err := m.EmbedBatch(batch[:min(len(batch), b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

var benchDefault struct {
	once sync.Once
	m    *Model
	imgs []image.Image
	err  error
}

// benchModel returns the default model (seeded) and 64 images of noise
// at its input size, made once for all benchmarks.
func benchModel(b *testing.B) (*Model, []image.Image) {
	d := &benchDefault
	d.once.Do(func() {
		d.m, d.err = New(Config{Seed: 1})
		for i := range 64 {
			d.imgs = append(d.imgs, noise(uint64(i), 64, 64))
		}
	})
	if d.err != nil {
		b.Fatal(d.err)
	}
	return d.m, d.imgs
}

// benchConcurrent runs b.N calls of embed from n goroutines, after a
// warm-up of 2n calls, and reports throughput and latency percentiles.
func benchConcurrent(b *testing.B, n int, imgs []image.Image, embed func(image.Image) error) {
	run := func(total int) []time.Duration {
		var next atomic.Int64
		lat := make([]time.Duration, total)
		var wg sync.WaitGroup
		var failed atomic.Value
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= total {
						return
					}
					t0 := time.Now()
					if err := embed(imgs[i%len(imgs)]); err != nil {
						failed.Store(err)
						return
					}
					lat[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return lat
	}
	run(2 * n)
	b.ReportAllocs()
	b.ResetTimer()
	lat := run(b.N)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100])/1e6, "p99-ms")
}
