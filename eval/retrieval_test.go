package eval

import (
	"errors"
	"image"
	"math"
	"strings"
	"testing"
)

// One query of class 0 and a gallery of five; by hand: ranked by score the
// gallery reads B A B A A (0.95, 0.9, 0.8, 0.5, 0.1). R = 3 relevant items;
// among the first three only rank 2 is relevant, with precision 1/2 there:
// MAP@R = (1/2)/3. The first relevant item is at rank 2: recall@1 0,
// recall@2 and @5 1, precision@1 0.
func TestRetrievalScoresByHand(t *testing.T) {
	r, err := RetrievalScores([][]float64{{0.9, 0.8, 0.5, 0.95, 0.1}}, []int{0}, []int{0, 1, 0, 1, 0}, 1, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 1, 1}
	for i := range want {
		if r.RecallAt[i] != want[i] {
			t.Errorf("recall@%d = %v, want %v", r.Ks[i], r.RecallAt[i], want[i])
		}
	}
	if r.PrecisionAt1 != 0 || !near(r.MAPAtR, 1.0/6) || r.Queries != 1 || r.Skipped != 0 {
		t.Errorf("got %+v, want precision@1 0, MAP@R 1/6, 1 query", r)
	}
}

// Two queries: the first ranks its two relevant items first (MAP@R 1), the
// second (class 1, R = 1) has its only relevant item third: MAP@R 0,
// recall@3 1. A third query of class 7 has no relevant item and is
// skipped. Means: recall@1 1/2, recall@3 1, MAP@R 1/2.
func TestRetrievalScoresMean(t *testing.T) {
	scores := [][]float64{
		{3, 2, 1},
		{3, 2, 1},
		{1, 2, 3},
	}
	r, err := RetrievalScores(scores, []int{0, 1, 7}, []int{0, 0, 1}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.RecallAt[0] != 0.5 || r.RecallAt[1] != 1 || r.PrecisionAt1 != 0.5 || r.MAPAtR != 0.5 || r.Queries != 2 || r.Skipped != 1 {
		t.Errorf("got %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "recall@1 0.500") || !strings.Contains(s, "MAP@R 0.500 (2 queries, 1 without a relevant item skipped)") {
		t.Errorf("String() = %q", s)
	}
}

// Equal scores keep the gallery's order: the relevant item ranks first
// only when it comes first.
func TestRetrievalTies(t *testing.T) {
	for _, c := range []struct {
		gallery []int
		p1      float64
	}{{[]int{0, 1}, 1}, {[]int{1, 0}, 0}} {
		r, err := RetrievalScores([][]float64{{0.5, 0.5}}, []int{0}, c.gallery, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if r.PrecisionAt1 != c.p1 || r.RecallAt[1] != 1 || r.MAPAtR != c.p1 {
			t.Errorf("gallery %v: %+v, want precision@1 and MAP@R %v", c.gallery, r, c.p1)
		}
	}
}

// Four items, classes 0 0 1 1; the diagonal (here huge) is ignored. Item 0
// ranks 1 (its mate) first: AP 1. Item 1 ranks 2 (0.9) above 0 (0.2):
// MAP@R 0, recall@2 1. Item 2 ranks 3 first. Item 3 ranks 0, 2, 1:
// recall@2 1, MAP@R 0. Means: precision@1 1/2, recall@2 1, MAP@R 1/2.
func TestRetrievalLeaveOneOut(t *testing.T) {
	scores := [][]float64{
		{99, 0.8, 0.1, 0.3},
		{0.2, 99, 0.9, 0.1},
		{0.1, 0.4, 99, 0.7},
		{0.6, 0.1, 0.5, 99},
	}
	r, err := RetrievalLeaveOneOut(scores, []int{0, 0, 1, 1}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.PrecisionAt1 != 0.5 || r.RecallAt[0] != 0.5 || r.RecallAt[1] != 1 || r.MAPAtR != 0.5 || r.Queries != 4 {
		t.Errorf("got %+v", r)
	}
}

func TestRetrievalErrors(t *testing.T) {
	for name, f := range map[string]func() error{
		"no K":        func() error { _, err := RetrievalScores([][]float64{{1}}, []int{0}, []int{0}); return err },
		"K 0":         func() error { _, err := RetrievalScores([][]float64{{1}}, []int{0}, []int{0}, 0); return err },
		"rows":        func() error { _, err := RetrievalScores([][]float64{{1}}, []int{0, 1}, []int{0}, 1); return err },
		"row length":  func() error { _, err := RetrievalScores([][]float64{{1, 2}}, []int{0}, []int{0}, 1); return err },
		"NaN":         func() error { _, err := RetrievalScores([][]float64{{math.NaN()}}, []int{0}, []int{0}, 1); return err },
		"no relevant": func() error { _, err := RetrievalScores([][]float64{{1}}, []int{0}, []int{1}, 1); return err },
		"empty":       func() error { _, err := RetrievalScores(nil, nil, nil, 1); return err },
		"singletons":  func() error { _, err := RetrievalLeaveOneOut([][]float64{{0, 1}, {1, 0}}, []int{0, 1}, 1); return err },
		"nil scorer":  func() error { _, err := RetrievalImages(nil, nil, nil, 1); return err },
	} {
		err := f()
		if err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("%s: error %v, want one starting \"eval: \"", name, err)
		}
	}
	_, err := RetrievalScores([][]float64{{math.NaN()}}, []int{0}, []int{0}, 1)
	if !errors.Is(err, ErrNaN) {
		t.Errorf("NaN: %v does not wrap ErrNaN", err)
	}
}

// Grey values 10, 12 (class 0), 50, 90 (class 1) scored by raw-pixel
// distance: 10 and 12 find each other, 50 finds 12 first (38 < 40), 90
// finds 50. Precision@1
// and MAP@R (R = 1) are 3/4.
func TestRetrievalImages(t *testing.T) {
	var imgs []image.Image
	for _, v := range []uint8{10, 12, 50, 90} {
		g := image.NewGray(image.Rect(0, 0, 1, 1))
		g.Pix[0] = v
		imgs = append(imgs, g)
	}
	r, err := RetrievalImages(pixelScorer{}, imgs, []int{0, 0, 1, 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.PrecisionAt1 != 0.75 || r.MAPAtR != 0.75 {
		t.Errorf("got %+v, want precision@1 and MAP@R 0.75", r)
	}
}
