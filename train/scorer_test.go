package train

import (
	"image"
	"image/color"
	"os"
	"testing"

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
