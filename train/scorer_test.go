package train

import (
	"image"
	"image/color"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// TestOneShotScorer runs a real (small, untrained) model through
// eval.OneShot: a test image identical to a training image gets the
// highest score the model can give, so the task is answered right.
func TestOneShotScorer(t *testing.T) {
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{32, 16},
		Input:   preprocess.Config{Size: 32},
		Seed:    1,
	})
	if err != nil {
		t.Fatal(err)
	}
	train := []image.Image{square(color.NRGBA{200, 30, 30, 255}), square(color.NRGBA{30, 200, 30, 255}), square(color.NRGBA{30, 30, 200, 255})}
	tasks := make([]eval.Task, len(train))
	for i := range train {
		// A copy, not the same pointer: embedded separately.
		c := *train[i].(*image.NRGBA)
		c.Pix = append([]uint8(nil), c.Pix...)
		tasks[i] = eval.Task{Test: &c, Train: train, Answer: i}
	}
	s := OneShotScorer(m)
	r, err := eval.OneShot(s, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy != 1 {
		t.Errorf("accuracy %v, predictions %v", r.Accuracy, r.Predicted)
	}
	// The scores are the model's own.
	es, err := s.Embed(train[:2])
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Score(es[0], es[1])
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Compare(train[0], train[1])
	if err != nil {
		t.Fatal(err)
	}
	if got != float64(want) {
		t.Errorf("scorer gives %v, Compare %v", got, want)
	}
}

// TestTTAScorer checks test-time augmentation on a real model: one copy is
// the plain scorer; more copies change the embedding, the same way for a
// seed whatever the batch, and differently for another seed.
func TestTTAScorer(t *testing.T) {
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Input:   preprocess.Config{Size: 32},
		Seed:    1,
	})
	if err != nil {
		t.Fatal(err)
	}
	red, blue := square(color.NRGBA{200, 30, 30, 255}), square(color.NRGBA{30, 30, 200, 255})
	embed := func(s eval.Scorer, imgs ...image.Image) [][]float32 {
		t.Helper()
		es, err := s.Embed(imgs)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	plain := embed(OneShotScorer(m), red)[0]
	one, err := TTAScorer(m, data.KochAugment(), 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(embed(one, red)[0], plain) {
		t.Error("one copy differs from OneShotScorer")
	}
	s7, err := TTAScorer(m, data.KochAugment(), 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	alone := embed(s7, red)[0]
	if slices.Equal(alone, plain) {
		t.Error("4 copies embed as the image alone")
	}
	if got := embed(s7, blue, red)[1]; !slices.Equal(got, alone) {
		t.Errorf("in a batch %v, alone %v", got, alone)
	}
	again, _ := TTAScorer(m, data.KochAugment(), 4, 7)
	if !slices.Equal(embed(again, red)[0], alone) {
		t.Error("the same seed gives other embeddings")
	}
	s8, _ := TTAScorer(m, data.KochAugment(), 4, 8)
	if slices.Equal(embed(s8, red)[0], alone) {
		t.Error("seeds 7 and 8 give the same embeddings")
	}

	bad := data.KochAugment()
	bad.Scale = 2
	for _, c := range []struct {
		name string
		m    *siamese.Model
		aug  data.Augment
		want string
	}{
		{"nil model", nil, data.KochAugment(), "nil model"},
		{"disabled", m, data.Augment{}, "not enabled"},
		{"invalid", m, bad, "Scale"},
	} {
		if _, err := TTAScorer(c.m, c.aug, 4, 1); err == nil || !strings.HasPrefix(err.Error(), "train: test-time augmentation: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// TestTTAQuarterTurns checks TTA.QuarterTurns on a real model: an image
// embeds as its four turns' embeddings end to end, a pair scores the
// sigmoid of the mean of the turns' logits (turn t against turn t), and
// turning both images alike keeps the score.
func TestTTAQuarterTurns(t *testing.T) {
	m, err := siamese.New(siamese.Config{
		Encoder:  resnet.Config{Depth: 18, Width: 8},
		Hidden:   []int{},
		Dropout:  -1,
		Distance: siamese.Cosine,
		Input:    preprocess.Config{Size: 32, Channels: 1},
		Seed:     1,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := corner(5), corner(11)
	s, err := TTA{QuarterTurns: true}.Scorer(m)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.Embed([]image.Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	plain := OneShotScorer(m)
	var want [2][]float32
	var logits float64
	for turn := range 4 {
		pe, err := plain.Embed([]image.Image{data.RotateQuarter(a, turn), data.RotateQuarter(b, turn)})
		if err != nil {
			t.Fatal(err)
		}
		want[0], want[1] = append(want[0], pe[0]...), append(want[1], pe[1]...)
		z, err := m.Logit(pe[0], pe[1])
		if err != nil {
			t.Fatal(err)
		}
		logits += z / 4
	}
	if !slices.Equal(es[0], want[0]) || !slices.Equal(es[1], want[1]) {
		t.Fatal("the embeddings are not the four turns' embeddings end to end")
	}
	got, err := s.Score(es[0], es[1])
	if err != nil {
		t.Fatal(err)
	}
	if w := 1 / (1 + math.Exp(-logits)); math.Abs(got-w) > 1e-12 {
		t.Errorf("score %v, sigmoid of the mean logit %v", got, w)
	}
	if one, _ := plain.Score(es[0][:len(es[0])/4], es[1][:len(es[1])/4]); got == one {
		t.Errorf("the turns' score equals the image's own, %v: the turns changed nothing", got)
	}
	turned, err := s.Embed([]image.Image{data.RotateQuarter(a, 1), data.RotateQuarter(b, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Score(turned[0], turned[1]); math.Abs(g-got) > 1e-9 {
		t.Errorf("both images turned: score %v, unturned %v", g, got)
	}
	// With copies, each turn is the mean of its distorted copies: another
	// embedding, the same for the same seed.
	c1, err := TTA{Copies: 3, Augment: data.KochAugment(), QuarterTurns: true, Seed: 2}.Scorer(m)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := c1.Embed([]image.Image{a})
	if err != nil {
		t.Fatal(err)
	}
	if len(ce[0]) != len(es[0]) || slices.Equal(ce[0], es[0]) {
		t.Errorf("3 copies per turn: %d values, equal to one copy's: %v", len(ce[0]), slices.Equal(ce[0], es[0]))
	}
	if _, err := (TTA{Copies: -1}).Scorer(m); err == nil || !strings.Contains(err.Error(), "-1 copies") {
		t.Errorf("negative copies: %v", err)
	}
}

func TestTTAEnsemble(t *testing.T) {
	cfg := siamese.Config{
		Encoder:  resnet.Config{Depth: 18, Width: 8},
		Hidden:   []int{},
		Dropout:  -1,
		Distance: siamese.Cosine,
		Input:    preprocess.Config{Size: 32, Channels: 1},
		Seed:     1,
	}
	m, err := siamese.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 2 // another encoder, and a head that must not be used
	other, err := siamese.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := corner(5), corner(11)
	s, err := TTA{Ensemble: []*siamese.Model{other}}.Scorer(m)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.Embed([]image.Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var want [2][]float32
	var logits float64
	for _, enc := range []*siamese.Model{m, other} {
		pe, err := OneShotScorer(enc).Embed([]image.Image{a, b})
		if err != nil {
			t.Fatal(err)
		}
		want[0], want[1] = append(want[0], pe[0]...), append(want[1], pe[1]...)
		z, err := m.Logit(pe[0], pe[1]) // the model's head on each encoder's embeddings
		if err != nil {
			t.Fatal(err)
		}
		logits += z / 2
	}
	if !slices.Equal(es[0], want[0]) || !slices.Equal(es[1], want[1]) {
		t.Fatal("the embeddings are not the model's and the other encoder's end to end")
	}
	got, err := s.Score(es[0], es[1])
	if err != nil {
		t.Fatal(err)
	}
	if w := 1 / (1 + math.Exp(-logits)); math.Abs(got-w) > 1e-12 {
		t.Errorf("score %v, sigmoid of the mean of the model's logits %v", got, w)
	}
	if one, _ := OneShotScorer(m).Score(want[0][:len(want[0])/2], want[1][:len(want[1])/2]); got == one {
		t.Errorf("the ensemble's score equals the model's own, %v: the other encoder changed nothing", got)
	}
	// With turns each encoder's part is its four turns.
	st, err := TTA{QuarterTurns: true, Ensemble: []*siamese.Model{other}}.Scorer(m)
	if err != nil {
		t.Fatal(err)
	}
	if et, err := st.Embed([]image.Image{a}); err != nil || len(et[0]) != 4*len(es[0]) {
		t.Errorf("turns and an ensemble of two: %v, want %d values", err, 4*len(es[0]))
	}
	if _, err := (TTA{Ensemble: []*siamese.Model{nil}}).Scorer(m); err == nil || !strings.Contains(err.Error(), "ensemble encoder 0 is nil") {
		t.Errorf("nil encoder: %v", err)
	}
	wider, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 50, Width: 8}, Hidden: []int{}, Dropout: -1, Distance: siamese.Cosine, Input: cfg.Input})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := TTA{Ensemble: []*siamese.Model{wider}}.Scorer(m)
	if err != nil {
		t.Fatal(err)
	}
	if ew, err := sw.Embed([]image.Image{a, b}); err == nil {
		t.Errorf("an encoder of another embedding size: embedded %d values, want an error", len(ew[0]))
	} else if !strings.Contains(err.Error(), "member 1") {
		t.Errorf("an encoder of another embedding size: %v, want an error naming member 1", err)
	}
}

// corner is a grey 32x32 image, white with a dark bar along its top edge
// and a block at column x of its left edge: no quarter turn maps it onto
// itself.
func corner(x int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for i := 2; i < 30; i++ {
		g.SetGray(i, 3, color.Gray{20})
	}
	for y := 10; y < 18; y++ {
		for i := x; i < x+4; i++ {
			g.SetGray(i, y, color.Gray{60})
		}
	}
	return g
}

func square(c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			if x > 12 && x < 36 && y > 12 && y < 36 {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

// TestOmniglotRunsWithModel evaluates a small Siamese model on the 20
// official runs through the calls a user makes (eval.LoadOmniglotRuns,
// eval.EvaluateRuns with OneShotScorer): every task is answered, and an
// untrained model lands far below a trained one but within the range
// chance allows (the figures of a trained model are in the README).
func TestOmniglotRunsWithModel(t *testing.T) {
	if testing.Short() {
		t.Skip("Omniglot runs with a model skipped in -short mode")
	}
	const omniglotRuns = "../../shared/omniglot/all_runs.zip"
	if _, err := os.Stat(omniglotRuns); err != nil {
		t.Skipf("Omniglot runs not present (%v): see ../shared/omniglot/README.md beside the repository", err)
	}
	runs, err := eval.LoadOmniglotRuns(omniglotRuns)
	if err != nil {
		t.Fatal(err)
	}
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{32},
		Input:   preprocess.Config{Size: 32, Channels: 1},
		Seed:    1,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.EvaluateRuns(OneShotScorer(m), runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 20 {
		t.Fatalf("%d run results, want 20", len(res.Runs))
	}
	for _, r := range res.Runs {
		if len(r.Correct) != 20 {
			t.Fatalf("a run answered %d tasks, want 20", len(r.Correct))
		}
	}
	t.Logf("untrained model: mean accuracy %.3f", res.MeanAccuracy)
	if res.MeanAccuracy < 0 || res.MeanAccuracy > 0.6 {
		t.Errorf("an untrained model scored %.3f on 20-way one-shot", res.MeanAccuracy)
	}
}
