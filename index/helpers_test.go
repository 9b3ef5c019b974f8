package index

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// Clustered returns n vectors of length dim around c centres (standard
// normal), each centre plus normal noise of deviation spread, from seed.
// It is what the tests and the benchmarks search.
func clustered(n, dim, c int, spread float64, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float32, c)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(rng.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		ce := centres[rng.IntN(c)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = ce[j] + float32(spread*rng.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// names returns "v0", "v1", ...
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "v" + itoa(i)
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// tinyModel is an untrained model of embedding size 16.
func tinyModel(t testing.TB, d siamese.Distance, seed uint64) *siamese.Model {
	t.Helper()
	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Hidden: []int{16}, Input: preprocess.Config{Size: 32}, Distance: d, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recall is the share of the exact answers' ids that the approximate
// answers hold, over all queries.
func recall(exact, approx [][]Hit) float64 {
	found, all := 0, 0
	for q := range exact {
		in := map[int]bool{}
		for _, h := range approx[q] {
			in[h.Index] = true
		}
		for _, h := range exact[q] {
			all++
			if in[h.Index] {
				found++
			}
		}
	}
	return float64(found) / float64(all)
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// modelMetadata is the metadata FromBulk records for m's search vectors.
func modelMetadata(m *siamese.Model) (map[string]string, error) { return bulk.Metadata(m, true) }
