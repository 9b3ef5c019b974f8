package eval

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sort"
	"strings"
)

// Retrieval is the outcome of ranking a gallery for each query by score
// (Musgrave, Belongie & Lim 2020, "A Metric Learning Reality Check"). A
// gallery item is relevant to a query when their classes are equal.
type Retrieval struct {
	// Ks are the cut-offs of RecallAt, in the order asked for.
	Ks []int
	// RecallAt[i] is the fraction of queries with at least one relevant
	// item among their Ks[i] highest-scoring gallery items (the
	// "Recall@K" of the metric learning literature).
	RecallAt []float64
	// PrecisionAt1 is the fraction of queries whose highest-scoring
	// gallery item is relevant (equal to RecallAt for K = 1).
	PrecisionAt1 float64
	// MAPAtR is the mean over queries of
	//
	//	1/R Σ_{i=1..R} P(i)·rel(i)
	//
	// where R is the number of relevant gallery items of the query, rel(i)
	// is 1 when the i-th ranked item is relevant and P(i) is the fraction
	// of relevant items among the first i: 1 when the R relevant items
	// come first, and lower for each one ranked below an irrelevant one.
	MAPAtR float64
	// Queries is the number of queries measured; Skipped were left out
	// because no gallery item was relevant to them (R = 0), so that no
	// rank could be right.
	Queries, Skipped int
}

// String formats r on one line: "recall@1 0.812  recall@5 0.953
// precision@1 0.812  MAP@R 0.521 (480 queries)".
func (r Retrieval) String() string {
	var b strings.Builder
	for i, k := range r.Ks {
		fmt.Fprintf(&b, "recall@%d %.3f  ", k, r.RecallAt[i])
	}
	fmt.Fprintf(&b, "precision@1 %.3f  MAP@R %.3f (%d queries", r.PrecisionAt1, r.MAPAtR, r.Queries)
	if r.Skipped > 0 {
		fmt.Fprintf(&b, ", %d without a relevant item skipped", r.Skipped)
	}
	b.WriteString(")")
	return b.String()
}

// RetrievalScores measures retrieval from a score matrix: scores[q][g] is
// how alike query q and gallery item g are (higher: more alike, as
// everywhere in eval), queryClasses[q] and galleryClasses[g] their
// classes. Each query's gallery is ranked by descending score; equal
// scores keep the gallery's order (the lower index ranks first), so a tie
// between a relevant and an irrelevant item counts the relevant one as
// ahead only when it comes first in the gallery. ks are the cut-offs of
// Recall@K, each at least 1 (K larger than the gallery counts the whole
// gallery). Queries without a relevant item are skipped and counted; an
// error is returned when none is left, for a NaN score or for mismatched
// lengths.
func RetrievalScores(scores [][]float64, queryClasses, galleryClasses []int, ks ...int) (Retrieval, error) {
	if len(scores) != len(queryClasses) {
		return Retrieval{}, fmt.Errorf("eval: retrieval: %d rows of scores for %d queries: %w", len(scores), len(queryClasses), ErrLength)
	}
	return retrieval(scores, queryClasses, galleryClasses, false, ks)
}

// RetrievalLeaveOneOut measures retrieval within one labelled set, each
// item in turn the query and all the others its gallery: scores is the
// square matrix of every pair's score (its diagonal is ignored) and
// classes the items' classes. Otherwise it is RetrievalScores.
func RetrievalLeaveOneOut(scores [][]float64, classes []int, ks ...int) (Retrieval, error) {
	if len(scores) != len(classes) {
		return Retrieval{}, fmt.Errorf("eval: retrieval: %d rows of scores for %d items: %w", len(scores), len(classes), ErrLength)
	}
	return retrieval(scores, classes, classes, true, ks)
}

// RetrievalImages embeds imgs with s (once each, in one Embed call),
// scores every pair with s.Score and returns RetrievalLeaveOneOut of
// their classes.
func RetrievalImages(s Scorer, imgs []image.Image, classes []int, ks ...int) (Retrieval, error) {
	if s == nil {
		return Retrieval{}, errors.New("eval: retrieval: nil Scorer")
	}
	if len(imgs) != len(classes) {
		return Retrieval{}, fmt.Errorf("eval: retrieval: %d images, %d classes: %w", len(imgs), len(classes), ErrLength)
	}
	if len(imgs) < 2 {
		return Retrieval{}, fmt.Errorf("eval: retrieval: %d images, want two at least: %w", len(imgs), ErrEmpty)
	}
	for i, img := range imgs {
		if isNil(img) {
			return Retrieval{}, fmt.Errorf("eval: retrieval: image %d is nil", i)
		}
	}
	emb, err := s.Embed(imgs)
	if err != nil {
		return Retrieval{}, fmt.Errorf("eval: retrieval: embed: %w", trimPrefix(err))
	}
	if len(emb) != len(imgs) {
		return Retrieval{}, fmt.Errorf("eval: retrieval: %d embeddings for %d images", len(emb), len(imgs))
	}
	n := len(imgs)
	scores := make([][]float64, n)
	for i := range scores {
		scores[i] = make([]float64, n)
	}
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			if scores[i][j], err = s.Score(emb[i], emb[j]); err != nil {
				return Retrieval{}, fmt.Errorf("eval: retrieval: images %d and %d: %w", i, j, trimPrefix(err))
			}
		}
	}
	return RetrievalLeaveOneOut(scores, classes, ks...)
}

// retrieval ranks each row of scores; with self, gallery item q is left
// out of query q's ranking.
func retrieval(scores [][]float64, qc, gc []int, self bool, ks []int) (Retrieval, error) {
	if len(ks) == 0 {
		return Retrieval{}, errors.New("eval: retrieval: no cut-off K for recall@K")
	}
	for _, k := range ks {
		if k < 1 {
			return Retrieval{}, fmt.Errorf("eval: retrieval: recall@%d: K must be at least 1", k)
		}
	}
	if len(qc) == 0 || len(gc) == 0 {
		return Retrieval{}, fmt.Errorf("eval: retrieval: %d queries, %d gallery items: %w", len(qc), len(gc), ErrEmpty)
	}
	relevant := map[int]int{} // class -> gallery items of it
	for _, c := range gc {
		relevant[c]++
	}
	r := Retrieval{Ks: slices.Clone(ks), RecallAt: make([]float64, len(ks))}
	order := make([]int, 0, len(gc))
	for q, row := range scores {
		if len(row) != len(gc) {
			return Retrieval{}, fmt.Errorf("eval: retrieval: query %d has %d scores for %d gallery items: %w", q, len(row), len(gc), ErrLength)
		}
		order = order[:0]
		for g, v := range row {
			if self && g == q {
				continue
			}
			if math.IsNaN(v) {
				return Retrieval{}, fmt.Errorf("eval: retrieval: query %d, gallery item %d: score is %w", q, g, ErrNaN)
			}
			order = append(order, g)
		}
		rel := relevant[qc[q]]
		if self {
			rel-- // the query itself
		}
		if rel <= 0 {
			r.Skipped++
			continue
		}
		r.Queries++
		sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
		first := -1 // rank of the first relevant item
		var found int
		var ap float64
		for i, g := range order {
			if gc[g] != qc[q] {
				continue
			}
			if first < 0 {
				first = i
			}
			if i < rel {
				found++
				ap += float64(found) / float64(i+1)
			}
		}
		ap /= float64(rel)
		r.MAPAtR += ap
		if first == 0 {
			r.PrecisionAt1++
		}
		for i, k := range ks {
			if first < k {
				r.RecallAt[i]++
			}
		}
	}
	if r.Queries == 0 {
		return r, fmt.Errorf("eval: retrieval: no query has a relevant gallery item (%d queries): %w", r.Skipped, ErrEmpty)
	}
	n := float64(r.Queries)
	r.PrecisionAt1 /= n
	r.MAPAtR /= n
	for i := range r.RecallAt {
		r.RecallAt[i] /= n
	}
	return r, nil
}
