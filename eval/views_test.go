package eval

import (
	"errors"
	"image"
	"strings"
	"testing"
)

// l1Scorer embeds like twoPixelScorer and scores a pair by the negated L1
// distance of its embeddings.
type l1Scorer struct{ twoPixelScorer }

func (p *l1Scorer) Score(a, b []float32) (float64, error) {
	var d float64
	for i := range a {
		d += abs(float64(a[i]) - float64(b[i]))
	}
	return -d, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// plusTen adds 10*v to the first pixel of view v.
func plusTen(img image.Image, v int) image.Image {
	g := img.(*image.Gray)
	return pixels(g.Pix[0]+uint8(10*v), g.Pix[1])
}

func TestViews(t *testing.T) {
	inner := &l1Scorer{}
	s, err := Views(inner, 3, func(img image.Image, v int) image.Image {
		if v == 1 {
			return swapOrBlank(img, 1)
		}
		return plusTen(img, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := pixels(1, 5), pixels(4, 4)
	es, err := s.Embed([]image.Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if inner.calls != 1 || inner.images != 6 {
		t.Errorf("inner Embed: %d calls with %d images, want 1 call with 6", inner.calls, inner.images)
	}
	// Views: the image, its pixels swapped, its first pixel + 20.
	wantA := []float32{1, 5, 5, 1, 21, 5}
	wantB := []float32{4, 4, 4, 4, 24, 4}
	for i := range wantA {
		if es[0][i] != wantA[i] || es[1][i] != wantB[i] {
			t.Fatalf("embeddings %v and %v, want %v and %v", es[0], es[1], wantA, wantB)
		}
	}
	// View by view: -(3+1), -(1+3), -(3+1); the mean is -4. Compared
	// across views (b's swapped view against a's own) it would differ.
	got, err := s.Score(es[0], es[1])
	if err != nil || got != -4 {
		t.Errorf("score %v, %v, want -4", got, err)
	}
	if got, _ := s.Score(es[0], es[0]); got != 0 {
		t.Errorf("an image with itself scores %v, want 0", got)
	}
	if _, err := s.Score(es[0], es[0][:4]); err == nil || !strings.Contains(err.Error(), "multiple of 3 views") {
		t.Errorf("mismatched embeddings: %v", err)
	}
	if one, err := Views(inner, 1, nil); err != nil || one != Scorer(inner) {
		t.Errorf("Views(s, 1, nil) = %v, %v, want s", one, err)
	}
}

func TestViewsErrors(t *testing.T) {
	inner := &l1Scorer{}
	for _, c := range []struct {
		name  string
		s     Scorer
		views int
		view  func(image.Image, int) image.Image
		want  string
	}{
		{"nil scorer", nil, 2, plusTen, "nil Scorer"},
		{"no views", inner, 0, plusTen, "0 views"},
		{"no view function", inner, 2, nil, "nil view function"},
	} {
		if _, err := Views(c.s, c.views, c.view); err == nil || !strings.HasPrefix(err.Error(), "eval: views: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	s, _ := Views(inner, 2, func(img image.Image, v int) image.Image {
		if v == 1 {
			return (*image.Gray)(nil)
		}
		return img
	})
	if _, err := s.Embed([]image.Image{pixels(1, 2)}); err == nil || !strings.Contains(err.Error(), "view 1 of image 0 is nil") {
		t.Errorf("nil view: %v", err)
	}
	boom := errors.New("boom")
	s, _ = Views(&l1Scorer{twoPixelScorer{err: boom}}, 2, plusTen)
	if _, err := s.Embed([]image.Image{pixels(1, 2)}); !errors.Is(err, boom) {
		t.Errorf("inner error: %v, want boom", err)
	}
}
