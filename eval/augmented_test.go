package eval

import (
	"errors"
	"image"
	"math"
	"strings"
	"testing"
)

// twoPixelScorer embeds a 2x1 grey image as its two pixel values, counting
// its calls, and scores a pair by the first embedding's first value.
type twoPixelScorer struct {
	calls, images int
	err           error
}

func (p *twoPixelScorer) Embed(imgs []image.Image) ([][]float32, error) {
	p.calls++
	p.images += len(imgs)
	if p.err != nil {
		return nil, p.err
	}
	out := make([][]float32, len(imgs))
	for i, img := range imgs {
		g := img.(*image.Gray)
		out[i] = []float32{float32(g.Pix[0]), float32(g.Pix[1])}
	}
	return out, nil
}

func (p *twoPixelScorer) Score(a, b []float32) (float64, error) { return float64(a[0]), nil }

func pixels(a, b uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 2, 1))
	g.Pix[0], g.Pix[1] = a, b
	return g
}

// swapOrBlank distorts copy 1 by swapping the two pixels and copy 2 into a
// black image.
func swapOrBlank(img image.Image, j int) image.Image {
	g := img.(*image.Gray)
	if j == 1 {
		return pixels(g.Pix[1], g.Pix[0])
	}
	return pixels(0, 0)
}

func TestAugmented(t *testing.T) {
	inner := &twoPixelScorer{}
	s, err := Augmented(inner, 3, swapOrBlank)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.Embed([]image.Image{pixels(3, 4), pixels(6, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if inner.calls != 1 || inner.images != 6 {
		t.Errorf("inner Embed: %d calls for %d images, want 1 for 6", inner.calls, inner.images)
	}
	// (3,4), (4,3) and (0,0): unit vectors summed (1.4, 1.4), scaled to
	// the mean length (5+5+0)/3. (6,0), (0,6), (0,0): (1, 1) to length 4.
	l := 10.0 / 3 / math.Sqrt2
	want := [][]float64{{l, l}, {4 / math.Sqrt2, 4 / math.Sqrt2}}
	for i := range want {
		for k := range want[i] {
			if got := float64(es[i][k]); math.Abs(got-want[i][k]) > 1e-6 {
				t.Errorf("image %d value %d: %g, want %g", i, k, got, want[i][k])
			}
		}
	}
	// An image embeds the same alone as in a batch, and pairs are the
	// inner Scorer's.
	one, err := s.Embed([]image.Image{pixels(6, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if one[0][0] != es[1][0] || one[0][1] != es[1][1] {
		t.Errorf("alone %v, in a batch %v", one[0], es[1])
	}
	if sc, err := s.Score([]float32{0.25, 9}, []float32{1, 1}); err != nil || sc != 0.25 {
		t.Errorf("Score = %v, %v, want the inner scorer's 0.25", sc, err)
	}
	// One copy is the scorer itself.
	if same, err := Augmented(inner, 1, nil); err != nil || same != Scorer(inner) {
		t.Errorf("Augmented(s, 1, nil) = %v, %v, want s", same, err)
	}
}

func TestAugmentedErrors(t *testing.T) {
	inner := &twoPixelScorer{}
	for _, c := range []struct {
		name    string
		s       Scorer
		copies  int
		distort func(image.Image, int) image.Image
		want    string
	}{
		{"nil scorer", nil, 2, swapOrBlank, "nil Scorer"},
		{"no copies", inner, 0, swapOrBlank, "0 copies"},
		{"no distortion", inner, 2, nil, "nil distortion"},
	} {
		if _, err := Augmented(c.s, c.copies, c.distort); err == nil || !strings.HasPrefix(err.Error(), "eval: augmented: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	s, _ := Augmented(inner, 2, func(image.Image, int) image.Image { return nil })
	if _, err := s.Embed([]image.Image{pixels(1, 2)}); err == nil || !strings.Contains(err.Error(), "copy 1 of image 0 is nil") {
		t.Errorf("nil copy: %v", err)
	}
	boom := errors.New("boom")
	s, _ = Augmented(&twoPixelScorer{err: boom}, 2, swapOrBlank)
	if _, err := s.Embed([]image.Image{pixels(1, 2)}); !errors.Is(err, boom) {
		t.Errorf("inner error: %v, want boom", err)
	}
}
