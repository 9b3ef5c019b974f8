package siamese

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// plainDistance is what a vector store computes: L1, Euclidean or cosine
// distance with no weights, in float64 over the stored float32 values.
func plainDistance(metric string, a, b []float32) float64 {
	var s, ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		switch metric {
		case "l1":
			s += math.Abs(x - y)
		case "l2":
			s += (x - y) * (x - y)
		case "cosine":
			ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
		}
	}
	switch metric {
	case "l2":
		return math.Sqrt(s)
	case "cosine":
		return 1 - ab/math.Sqrt(aa*bb)
	}
	return s
}

// storeOrder returns the gallery indices ordered by plain distance of
// vecs to q, nearest first, ties in gallery order: a brute-force index.
func storeOrder(metric string, q []float32, vecs [][]float32) []int {
	idx := make([]int, len(vecs))
	d := make([]float64, len(vecs))
	for i, v := range vecs {
		idx[i], d[i] = i, plainDistance(metric, q, v)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case d[a] < d[b]:
			return -1
		case d[a] > d[b]:
			return 1
		}
		return 0
	})
	return idx
}

// sameRanking reports where order, a ranking of gallery indices, departs
// from the Gallery's matches: the scores read along order must be the
// matches' scores, so references with equal scores may come in any order
// among themselves and no other difference is allowed.
func sameRanking(ms []Match, order []int) error {
	score := make(map[int]Score, len(ms))
	for _, m := range ms {
		score[m.Index] = m.Score
	}
	if len(order) != len(ms) {
		return fmt.Errorf("%d ranked, gallery has %d", len(order), len(ms))
	}
	for r, i := range order {
		if score[i] != ms[r].Score {
			return fmt.Errorf("rank %d: reference %d (score %.17g), gallery ranks %s (score %.17g) there", r, i, float64(score[i]), ms[r].ID, float64(ms[r].Score))
		}
	}
	return nil
}

// searchFixture is a model with output weights of mixed signs, sizes and
// zeros (so that folding them in matters), a gallery of embeddings with
// exact duplicates (ties) and a copy of the query, and the query.
func searchFixture(t *testing.T, d Distance) (*Model, *Gallery, []Embedding, Embedding) {
	t.Helper()
	m := tinyModel(t, func(c *Config) { c.Distance = d })
	rng := rand.New(rand.NewPCG(uint64(d)+11, 5))
	u := m.out.Weight.Float32s()
	for i := range u {
		u[i] = float32(rng.NormFloat64())
		if i%5 == 4 {
			u[i] = 0
		}
	}
	f := m.cfg.embeddingSize()
	vec := func() Embedding {
		e := make(Embedding, f)
		for i := range e {
			if rng.IntN(4) > 0 { // ReLU outputs: some are 0
				e[i] = float32(rng.ExpFloat64())
			}
		}
		return e
	}
	q := vec()
	var ids []string
	var embs []Embedding
	for i := range 60 {
		e := vec()
		switch {
		case i == 17:
			e = slices.Clone(q)
		case i%9 == 8:
			e = slices.Clone(embs[i-5])
		}
		ids, embs = append(ids, fmt.Sprint("ref", i)), append(embs, e)
	}
	g := &Gallery{m: m}
	if err := g.AddEmbeddings(ids, embs); err != nil {
		t.Fatal(err)
	}
	return m, g, embs, q
}

func TestFoldHeadRanksAsGallery(t *testing.T) {
	for _, d := range []Distance{L1, L2, Cosine} {
		t.Run(d.String(), func(t *testing.T) {
			m, g, embs, q := searchFixture(t, d)
			metric := m.SearchMetric()
			if metric != d.String() {
				t.Fatalf("SearchMetric = %q, want %q", metric, d)
			}
			ms, err := g.SearchEmbedding(q, 0)
			if err != nil {
				t.Fatal(err)
			}
			ties := 0
			for r := 1; r < len(ms); r++ {
				if ms[r].Score == ms[r-1].Score {
					ties++
				}
			}
			if ties == 0 {
				t.Fatal("the fixture has no tied scores")
			}
			fq, err := m.FoldHead(q)
			if err != nil {
				t.Fatal(err)
			}
			folded := make([][]float32, len(embs))
			for i, e := range embs {
				if folded[i], err = m.FoldHead(e); err != nil {
					t.Fatal(err)
				}
				if d == Cosine {
					if n := plainDistance("l2", folded[i], make([]float32, len(e))); math.Abs(n-1) > 1e-6 {
						t.Errorf("reference %d: cosine search vector of length %g", i, n)
					}
				}
			}
			if err := sameRanking(ms, storeOrder(metric, fq, folded)); err != nil {
				t.Errorf("plain %s on search vectors: %v", metric, err)
			}
			// The test can tell: unfolded embeddings rank differently
			// (for Cosine, under L2, which a norm does change).
			raw := make([][]float32, len(embs))
			for i, e := range embs {
				raw[i] = e
			}
			control := metric
			if d == Cosine {
				control = "l2"
			}
			if sameRanking(ms, storeOrder(control, q, raw)) == nil {
				t.Errorf("plain %s on raw embeddings ranks as the gallery too: the fixture cannot tell", control)
			}
		})
	}
}

func TestFoldHeadChecksLength(t *testing.T) {
	m := tinyModel(t, nil)
	if _, err := m.FoldHead(make(Embedding, 3)); err == nil {
		t.Fatal("FoldHead took an embedding of length 3")
	}
}

func TestSearchVectorsAreFoldedEmbeddings(t *testing.T) {
	m := tinyModel(t, func(c *Config) { c.SeparateTowers = true })
	imgs := []image.Image{noise(1, 40, 36), ramp(32, 32, colorRed)}
	for _, tower := range []Tower{First, Second} {
		vs, err := m.SearchVectors(tower, imgs)
		if err != nil {
			t.Fatal(err)
		}
		es, err := m.Network().EmbedImages(tower, imgs)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			want, err := m.FoldHead(e)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(vs[i], want) {
				t.Errorf("tower %d, image %d: SearchVectors %v, FoldHead of the embedding %v", tower, i, vs[i], want)
			}
		}
	}
	if _, err := m.SearchVectors(First, nil); err == nil {
		t.Error("SearchVectors took no images")
	}
}

// TestScoreDistance checks that the score ScoreDistance gives for the
// plain distance between two search vectors is the score ScoreEmbeddings
// gives for the embeddings, for each distance.
func TestScoreDistance(t *testing.T) {
	for _, d := range []Distance{L1, L2, Cosine} {
		t.Run(d.String(), func(t *testing.T) {
			m, _, embs, q := searchFixture(t, d)
			fq, err := m.FoldHead(q)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, e := range embs {
				want, err := m.ScoreEmbeddings(q, e)
				if err != nil {
					t.Fatal(err)
				}
				fe, err := m.FoldHead(e)
				if err != nil {
					t.Fatal(err)
				}
				dist := plainDistance(m.SearchMetric(), fq, fe)
				if d == L2 {
					dist *= dist // the squared distance, as the head weighs it
				}
				got := m.ScoreDistance(dist)
				if diff := math.Abs(float64(got - want)); diff > 1e-5 {
					t.Errorf("reference %d: ScoreDistance %g, ScoreEmbeddings %g", i, got, want)
				} else {
					worst = max(worst, diff)
				}
			}
			t.Logf("largest difference %.2g", worst)
		})
	}
}
