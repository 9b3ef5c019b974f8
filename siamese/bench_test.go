package siamese

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
