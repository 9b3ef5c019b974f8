package train

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/siamese"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestClassBalancedImages checks the P×M layout of a batch (P distinct
// classes, M consecutive images of each, with the class of their image and
// quarter turn), that a class's images are drawn without replacement until
// they run out, and that a step always gives the same batch.
func TestClassBalancedImages(t *testing.T) {
	ds := memoryPatterns(t, 6, 3, 3) // 3 images a class: M = 4 must reuse one
	input := tinyCosine(t).Config().Input
	const p, m = 5, 4
	newSampler := func() *ClassBalancedImages {
		s, err := NewClassBalancedImages(ds, nil, input, data.Augment{}, true, p, m, 1, 9)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := newSampler()
	if s.NumClasses() != 24 {
		t.Fatalf("%d classes, want 6 × 4 quarter turns", s.NumClasses())
	}
	seen := map[int]bool{}
	for step := range uint64(20) {
		items, classes := s.Items(step)
		if len(items) != p*m || len(classes) != p*m {
			t.Fatalf("step %d: %d items, %d classes, want %d", step, len(items), len(classes), p*m)
		}
		labels := map[int]bool{}
		for g := range p {
			l := classes[g*m]
			if labels[l] {
				t.Errorf("step %d: class %d drawn twice", step, l)
			}
			labels[l] = true
			seen[l] = true
			var idx []int
			for k := g * m; k < (g+1)*m; k++ {
				it := items[k]
				if classes[k] != l {
					t.Errorf("step %d: item %d of group %d has class %d, want %d", step, k, g, classes[k], l)
				}
				if got := s.s.classOf[ds.Class(it.Index)]*4 + it.Turns; got != l {
					t.Errorf("step %d: image %d turned %d is class %d, labelled %d", step, it.Index, it.Turns, got, l)
				}
				idx = append(idx, it.Index)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(idx[:3])))) != 3 {
				t.Errorf("step %d: the first three images of class %d repeat: %v", step, l, idx)
			}
		}
	}
	if len(seen) < 20 {
		t.Errorf("20 steps drew %d of 24 classes", len(seen))
	}
	a, ca := s.Items(7)
	b, cb := newSampler().Items(7)
	if !slices.Equal(a, b) || !slices.Equal(ca, cb) {
		t.Error("two samplers of one seed gave step 7 different batches")
	}
	if c, _ := s.Items(8); slices.Equal(a, c) {
		t.Error("steps 7 and 8 gave the same batch")
	}
	x, classes, err := s.Batch(3, p*m)
	if err != nil {
		t.Fatal(err)
	}
	if _, want := s.Items(3); !slices.Equal(classes, want) || x.Shape()[0] != p*m {
		t.Errorf("Batch: shape %v, classes %v, want %d images of %v", x.Shape(), classes, p*m, want)
	}
	if _, _, err := s.Batch(3, 16); err == nil || !strings.HasPrefix(err.Error(), "train: ") {
		t.Errorf("a batch of 16 from a 5×4 sampler: %v", err)
	}
	for _, c := range []struct{ p, m int }{{25, 2}, {1, 4}, {4, 1}} {
		if _, err := NewClassBalancedImages(ds, nil, input, data.Augment{}, true, c.p, c.m, 1, 9); err == nil || !strings.HasPrefix(err.Error(), "train: ") {
			t.Errorf("P %d, M %d: %v", c.p, c.m, err)
		}
	}
}

// Three rows near (0, 0), (0, 1) and (0, 3): the first two find each
// other, the third finds the second. With classes 0, 0, 1 two are right;
// with 0, 1, 1 one (the third).
func TestNearestSameClass(t *testing.T) {
	emb := []float32{0, 0, 0, 1, 0, 3}
	if got := nearestSameClass(emb, []int{0, 0, 1}); got != 2 {
		t.Errorf("classes 0 0 1: %d right, want 2", got)
	}
	if got := nearestSameClass(emb, []int{0, 1, 1}); got != 1 {
		t.Errorf("classes 0 1 1: %d right, want 1", got)
	}
}

// tinyMetricRecipe is tinyRecipe with metric learning instead of
// pretraining.
func tinyMetricRecipe(l EmbeddingLoss) Recipe {
	r := tinyRecipe()
	r.Name = "tiny-metric"
	r.Pretrain = nil
	r.Metric = &MetricConfig{Loss: l, P: 4, M: 4, Epochs: 3, StepsPerEpoch: 10, Optimizer: Optimizer{LearningRate: 3e-3}}
	return r
}

// setLoss returns c's loss (after defaults) on the embeddings of imgs by
// m, scaled to unit length, as one batch. For the triplet losses it is the
// mean over all valid triplets instead: TripletBatchAll's mean over the
// triplets with a positive loss can rise as training satisfies the easy
// ones, and TripletBatchHard's hardest triplet of the whole set is not
// what it lowers, the hardest of each small P x M batch (measured so, it
// rose on some backends while the embeddings improved).
func setLoss(t *testing.T, m *siamese.Model, c MetricConfig, imgs []image.Image, classes []int) float64 {
	t.Helper()
	es, err := m.EmbedBatch(imgs)
	if err != nil {
		t.Fatal(err)
	}
	d := len(es[0])
	flat := make([]float64, 0, len(es)*d)
	ys := make([]float64, len(classes))
	for i, e := range es {
		var s float64
		for _, v := range e {
			s += float64(v) * float64(v)
		}
		for _, v := range e {
			flat = append(flat, float64(v)/math.Sqrt(s))
		}
		ys[i] = float64(classes[i])
	}
	c = c.WithDefaults()
	if c.Loss == TripletBatchAll || c.Loss == TripletBatchHard {
		dist := func(i, j int) float64 {
			var s float64
			for k := range d {
				x := flat[i*d+k] - flat[j*d+k]
				s += x * x
			}
			return math.Sqrt(s)
		}
		var sum float64
		var n int
		for a := range ys {
			for p := range ys {
				for q := range ys {
					if a != p && ys[a] == ys[p] && ys[q] != ys[a] {
						sum += max(0, dist(a, p)-dist(a, q)+c.Margin)
						n++
					}
				}
			}
		}
		return sum / float64(n)
	}
	g := G.NewGraph()
	en := G.NewMatrix(g, tensor.Float64, G.WithShape(len(es), d), G.WithValue(tensor.New(tensor.WithShape(len(es), d), tensor.WithBacking(flat))))
	y := G.NewVector(g, tensor.Float64, G.WithShape(len(ys)), G.WithValue(tensor.New(tensor.WithBacking(ys))))
	l, err := metricLoss(c, en, y)
	if err != nil {
		t.Fatal(err)
	}
	var v G.Value
	G.Read(l, &v)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return v.Data().(float64)
}

// TestFitMetric trains each metric loss through Fit: the loss of all the
// training images as one batch is lower with the metric stage's model
// than with the initial one, the files of the stage are written, the
// report has the held-out retrieval, and the same seed gives the same
// model bit for bit.
func TestFitMetric(t *testing.T) {
	ds := memoryPatterns(t, 10, 4, 3)
	var first *siamese.Model
	for _, l := range EmbeddingLosses() {
		t.Run(string(l), func(t *testing.T) {
			dir := t.TempDir()
			m, rep, err := Fit(context.Background(), tinyMetricRecipe(l), Data{Images: ds}, FitOptions{Dir: dir, Seed: 4, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			h := rep.Metric
			if len(h) != 3 || rep.Pretrain != nil || len(rep.Pairs) != 2 {
				t.Fatalf("report: %d metric epochs, %d pretraining, %d pair epochs", len(h), len(rep.Pretrain), len(rep.Pairs))
			}
			r := tinyMetricRecipe(l)
			cfg := r.Model
			cfg.Seed = 4
			init, err := siamese.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			learnt, err := siamese.Load(filepath.Join(dir, MetricModel))
			if err != nil {
				t.Fatal(err)
			}
			trainIdx, _ := data.SplitClasses(ds, r.ValFraction, 4)
			var imgs []image.Image
			var classes []int
			for _, i := range trainIdx {
				img, err := ds.Image(i)
				if err != nil {
					t.Fatal(err)
				}
				imgs, classes = append(imgs, img), append(classes, ds.Class(i))
			}
			before, after := setLoss(t, init, *r.Metric, imgs, classes), setLoss(t, learnt, *r.Metric, imgs, classes)
			t.Logf("loss of the training images: %.4f before, %.4f after", before, after)
			if !(after < before) {
				t.Errorf("loss of the training images %v before, %v after", before, after)
			}
			for _, e := range h {
				if !(e.TrainAcc >= 0 && e.TrainAcc <= 1) || !(e.ValOneShot >= 0 && e.ValOneShot <= 1) || e.Images != e.Step*16 {
					t.Errorf("epoch %+v", e)
				}
			}
			for _, f := range []string{MetricModel, MetricCheckpoint, MetricLog, MetricPlot, BestModel} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			if r := rep.Retrieval; r == nil || r.Queries != rep.ValImages || !(r.MAPAtR > 0 && r.MAPAtR <= 1) || len(r.RecallAt) != 2 || r.RecallAt[0] != r.PrecisionAt1 {
				t.Errorf("retrieval %+v, want one query per held-out image (%d)", rep.Retrieval, rep.ValImages)
			}
			if l != TripletBatchHard {
				return
			}
			first = m
			again, _, err := Fit(context.Background(), tinyMetricRecipe(l), Data{Images: ds}, FitOptions{Dir: t.TempDir(), Seed: 4, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			sameParams(t, again, first)
		})
	}
}

// TestFitMetricResume cancels a run in its second metric epoch and resumes
// it: it ends where the uninterrupted run does, bit for bit; a resumed run
// with another metric loss is refused.
func TestFitMetricResume(t *testing.T) {
	ds := memoryPatterns(t, 10, 4, 3)
	r := tinyMetricRecipe(TripletBatchAll)
	want, wantRep, err := Fit(context.Background(), r, Data{Images: ds}, FitOptions{Dir: t.TempDir(), Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := FitOptions{Dir: dir, Seed: 4, Workers: 2}
	if _, _, err := Fit(newStopAfter(13), r, Data{Images: ds}, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	opts.Resume = true
	other := tinyMetricRecipe(Contrastive)
	if _, _, err := Fit(context.Background(), other, Data{Images: ds}, opts); err == nil || !strings.Contains(err.Error(), "Recipe.Metric") {
		t.Errorf("resuming with another loss: %v", err)
	}
	m, rep := fitResumed(t, r, ds, opts, "metric learning")
	sameParams(t, m, want)
	samePretrainHistory(t, rep.Metric, wantRep.Metric)
}

// fitResumed runs Fit with opts (resuming) and fails unless stage says it
// continues from its checkpoint.
func fitResumed(t *testing.T, r Recipe, ds data.Dataset, opts FitOptions, stage string) (*siamese.Model, FitReport) {
	t.Helper()
	var progress bytes.Buffer
	opts.Progress = &progress
	m, rep, err := Fit(context.Background(), r, Data{Images: ds}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "resuming "+stage+" from") {
		t.Errorf("%s did not continue from its checkpoint:\n%s", stage, progress.String())
	}
	return m, rep
}
