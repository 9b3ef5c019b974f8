package eval

import (
	"errors"
	"image"
	"strings"
	"testing"
)

// swappedScorer embeds an image as its two pixels in reverse order, times
// three, and scores a pair by the negated L1 distance halved.
type swappedScorer struct{ l1Scorer }

func (p *swappedScorer) Embed(imgs []image.Image) ([][]float32, error) {
	es, err := p.l1Scorer.Embed(imgs)
	for _, e := range es {
		e[0], e[1] = 3*e[1], 3*e[0]
	}
	return es, err
}

func (p *swappedScorer) Score(a, b []float32) (float64, error) {
	d, err := p.l1Scorer.Score(a, b)
	return d / 2, err
}

func TestEnsemble(t *testing.T) {
	first, second := &l1Scorer{}, &swappedScorer{}
	s, err := Ensemble(first, second)
	if err != nil {
		t.Fatal(err)
	}
	a, b := pixels(1, 5), pixels(4, 4)
	es, err := s.Embed([]image.Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if first.calls != 1 || first.images != 2 || second.calls != 1 || second.images != 2 {
		t.Errorf("members' Embed: %d calls with %d images and %d with %d, want 1 call with 2 each",
			first.calls, first.images, second.calls, second.images)
	}
	// Member 0's embedding, then member 1's.
	wantA := []float32{1, 5, 15, 3}
	wantB := []float32{4, 4, 12, 12}
	for i := range wantA {
		if es[0][i] != wantA[i] || es[1][i] != wantB[i] {
			t.Fatalf("embeddings %v and %v, want %v and %v", es[0], es[1], wantA, wantB)
		}
	}
	// Member by member: -(3+1) = -4 and -(3+9)/2 = -6; the mean is -5.
	// Member 0's scorer on member 1's parts would give -12.
	got, err := s.Score(es[0], es[1])
	if err != nil || got != -5 {
		t.Errorf("score %v, %v, want -5", got, err)
	}
	if got, _ := s.Score(es[1], es[1]); got != 0 {
		t.Errorf("an image with itself scores %v, want 0", got)
	}
	if _, err := s.Score(es[0], es[0][:3]); err == nil || !strings.Contains(err.Error(), "multiple of 2 members") {
		t.Errorf("mismatched embeddings: %v", err)
	}
	if one, err := Ensemble(first); err != nil || one != Scorer(first) {
		t.Errorf("Ensemble(s) = %v, %v, want s", one, err)
	}
}

// shortScorer embeds every image in one value.
type shortScorer struct{ l1Scorer }

func (p *shortScorer) Embed(imgs []image.Image) ([][]float32, error) {
	es, err := p.l1Scorer.Embed(imgs)
	for i := range es {
		es[i] = es[i][:1]
	}
	return es, err
}

func TestEnsembleErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		members []Scorer
		want    string
	}{
		{"none", nil, "no members"},
		{"nil alone", []Scorer{nil}, "member 0 is a nil Scorer"},
		{"nil second", []Scorer{&l1Scorer{}, nil}, "member 1 is a nil Scorer"},
	} {
		if _, err := Ensemble(c.members...); err == nil || !strings.HasPrefix(err.Error(), "eval: ensemble: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	imgs := []image.Image{pixels(1, 2)}
	s, _ := Ensemble(&l1Scorer{}, &shortScorer{})
	if _, err := s.Embed(imgs); err == nil || !strings.Contains(err.Error(), "member 1 embeds image 0 in 1 values, member 0 image 0 in 2") {
		t.Errorf("members of different sizes: %v", err)
	}
	boom := errors.New("boom")
	s, _ = Ensemble(&l1Scorer{}, &l1Scorer{twoPixelScorer{err: boom}})
	if _, err := s.Embed(imgs); !errors.Is(err, boom) || !strings.Contains(err.Error(), "member 1") {
		t.Errorf("member's error: %v, want boom from member 1", err)
	}
}
