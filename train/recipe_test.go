package train

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// tinyRecipe is the oneshot recipe on a small encoder and budget.
func tinyRecipe() Recipe {
	r := OneShotRecipe()
	r.Model.Encoder = resnet.Config{Depth: 18, Width: 8}
	r.ValFraction = 0.3
	r.Holdout = HoldClasses
	r.ValPairs = 40
	r.ValEpisodes = 3
	p := *r.Pretrain
	p.Epochs, p.StepsPerEpoch, p.BatchSize, p.Schedule.WarmupSteps = 2, 4, 16, 2
	r.Pretrain = &p
	r.Pairs.Epochs, r.Pairs.StepsPerEpoch = 2, 10
	return r
}

// TestFit runs the whole recipe twice: the final model is the pair stage's
// best, with the pretrained encoder frozen in it, and the same seed gives
// the same model bit for bit.
func TestFit(t *testing.T) {
	ds := memoryPatterns(t, 10, 4, 3)
	var models []*siamese.Model
	for range 2 {
		dir := t.TempDir()
		m, rep, err := Fit(context.Background(), tinyRecipe(), Data{Images: ds}, FitOptions{Dir: dir, Seed: 4, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.TrainClasses != 7 || rep.ValClasses != 3 || len(rep.Pretrain) != 2 || len(rep.Pairs) != 2 || rep.Validation == nil {
			t.Fatalf("report %+v", rep)
		}
		if c := m.Config(); c.FrozenStages != resnet.Stages || m.Info()["recipe"] != "oneshot" {
			t.Errorf("final model: %d frozen stages, info %v", c.FrozenStages, m.Info())
		}
		pre, err := siamese.Load(filepath.Join(dir, "pretrain.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		// The pair stage trains the head only: every encoder tensor is the
		// pretrained one; the output layer has moved.
		pp, mp := pre.Network().Params(), m.Network().Params()
		for i, p := range pp {
			same := slices.Equal(p.Float32s(), mp[i].Float32s())
			if enc := strings.HasPrefix(p.Name, "encoder."); enc != same {
				t.Errorf("%s: equal to the pretrained value: %v", p.Name, same)
			}
		}
		models = append(models, m)
	}
	sameParams(t, models[1], models[0])
}

// TestFitHoldAuto: with few classes the default holdout holds out whole
// classes and images of the others; with many, classes alone.
func TestFitHoldAuto(t *testing.T) {
	ds := memoryPatterns(t, 10, 4, 3)
	r := tinyRecipe()
	r.Holdout = HoldAuto
	r.Pretrain.Epochs = 1
	r.Pairs.Epochs = 1
	_, rep, err := Fit(context.Background(), r, Data{Images: ds}, FitOptions{Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 3 of 10 classes whole (fewer than MinValClasses), then 2 of the 4
	// images of each of the other 7.
	if rep.Holdout != HoldBoth || rep.HeldClasses != 3 || rep.ValClasses != 10 || rep.TrainClasses != 7 || rep.TrainImages != 14 || rep.ValImages != 26 {
		t.Errorf("report: holdout %s, %d classes whole, %d/%d training/validation classes, %d/%d images; want both, 3, 7/10, 14/26",
			rep.Holdout, rep.HeldClasses, rep.TrainClasses, rep.ValClasses, rep.TrainImages, rep.ValImages)
	}
	// Recipe.Split gives the split Fit made.
	trainIdx, valIdx, err := r.Split(ds, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(trainIdx) != rep.TrainImages || len(valIdx) != rep.ValImages {
		t.Errorf("Split: %d/%d training/validation images, Fit %d/%d", len(trainIdx), len(valIdx), rep.TrainImages, rep.ValImages)
	}
	if _, _, err := r.Split(nil, 4); err == nil || !strings.HasPrefix(err.Error(), "train: recipe: split: ") {
		t.Errorf("Split(nil): %v", err)
	}
	inTrain := map[int]bool{}
	trainClass := map[int]bool{}
	for _, i := range trainIdx {
		inTrain[i], trainClass[ds.Class(i)] = true, true
	}
	whole := map[int]bool{}
	for _, i := range valIdx {
		if inTrain[i] {
			t.Errorf("image %d both in training and validation", i)
		}
		if !trainClass[ds.Class(i)] {
			whole[ds.Class(i)] = true
		}
	}
	if len(whole) != 3 {
		t.Errorf("%d classes held out whole, want 3", len(whole))
	}
	// Many classes: classes alone, as HoldClasses.
	many := memoryPatterns(t, 200, 2, 3)
	var rm FitReport
	r.ValFraction = 0.1
	if _, _, err := splitData(many, r, FitOptions{Seed: 4}, &rm); err != nil || rm.Holdout != HoldClasses || rm.HeldClasses != 20 || rm.ValClasses != 20 {
		t.Errorf("200 classes: holdout %s, %d whole, %d validation classes, err %v; want classes, 20, 20", rm.Holdout, rm.HeldClasses, rm.ValClasses, err)
	}
}

func TestPresets(t *testing.T) {
	names := Presets()
	if len(names) < 2 || names[0] != "oneshot" || !slices.Contains(names, "original") {
		t.Fatalf("presets %v", names)
	}
	for _, n := range names {
		r, err := Preset(n)
		if err != nil || r.Name != n || PresetDoc(n) == "" {
			t.Errorf("%s: %+v, %v", n, r.Name, err)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	o, _ := Preset("original")
	if c := o.Model.WithDefaults(); c.Encoder.Depth != 50 || !slices.Equal(c.Hidden, []int{1024, 512}) || c.Dropout != 0.2 || c.Distance != siamese.L1 || o.Pretrain != nil || o.Pairs.Optimizer.LearningRate != 1e-4 {
		t.Errorf("original recipe is not the Keras design: %+v", c)
	}
	long, _ := Preset("oneshot-long")
	def := OneShotRecipe()
	if !def.Rotations || def.Pretrain.Epochs != 8 || def.Pretrain.CosineScale != 0 || long.Pretrain.Epochs != 21 || long.Pretrain.CosineScale != 16 {
		t.Errorf("oneshot: rotations %v, %d epochs, cosine scale %v; oneshot-long: %d epochs, cosine scale %v",
			def.Rotations, def.Pretrain.Epochs, def.Pretrain.CosineScale, long.Pretrain.Epochs, long.Pretrain.CosineScale)
	}
	long.Name, long.Pretrain.Epochs, long.Pretrain.CosineScale = def.Name, def.Pretrain.Epochs, def.Pretrain.CosineScale
	if !reflect.DeepEqual(long, def) {
		t.Errorf("oneshot-long differs from oneshot in more than its name, pretraining epochs and cosine classifier:\n%+v\n%+v", long, def)
	}
	if _, err := Preset("best"); err == nil || !strings.Contains(err.Error(), "oneshot") {
		t.Errorf("unknown preset: %v", err)
	}
	r := OneShotRecipe()
	r.ValFraction = 1
	if err := r.Validate(); err == nil {
		t.Error("validation fraction 1 accepted")
	}
}

// TestFitResume: a recipe run stopped in pretraining, resumed and stopped
// again in the pair stage, then resumed to the end, gives the model and
// logs of an uninterrupted run, bit for bit. A folder holding a run is not
// trained over, and a resumed run must be the one started there.
func TestFitResume(t *testing.T) {
	ds := memoryPatterns(t, 10, 4, 3)
	want, wantRep, err := Fit(context.Background(), tinyRecipe(), Data{Images: ds}, FitOptions{Dir: t.TempDir(), Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := FitOptions{Dir: dir, Seed: 4, Workers: 2}
	// Pretraining is 8 steps: stop after 5 of them.
	if _, _, err := Fit(newStopAfter(5), tinyRecipe(), Data{Images: ds}, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("first stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "last.safetensors")); err == nil {
		t.Fatal("the pair stage began before pretraining ended")
	}
	if _, _, err := Fit(context.Background(), tinyRecipe(), Data{Images: ds}, opts); err == nil || !strings.Contains(err.Error(), "holds a run") {
		t.Errorf("a new run over a stopped one: %v", err)
	}
	opts.Resume = true
	if _, _, err := Fit(newStopAfter(6), tinyRecipe(), Data{Images: ds}, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("second stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "last.safetensors")); err != nil {
		t.Fatalf("the second stop was not in the pair stage: %v", err)
	}
	other := opts
	other.Seed = 5
	if _, _, err := Fit(context.Background(), tinyRecipe(), Data{Images: ds}, other); err == nil || !strings.Contains(err.Error(), "Seed") {
		t.Errorf("resuming with another seed: %v", err)
	}
	m, rep := fitResumed(t, tinyRecipe(), ds, opts, "the pair stage")
	sameParams(t, m, want)
	samePretrainHistory(t, rep.Pretrain, wantRep.Pretrain)
	if len(rep.Pairs) != len(wantRep.Pairs) {
		t.Fatalf("%d pair epochs, want %d", len(rep.Pairs), len(wantRep.Pairs))
	}
	for i, e := range rep.Pairs {
		if e.TrainLoss != wantRep.Pairs[i].TrainLoss || e.ValAUC != wantRep.Pairs[i].ValAUC {
			t.Errorf("pair epoch %d: %+v, want %+v", i+1, e, wantRep.Pairs[i])
		}
	}
	if _, _, err := Fit(context.Background(), tinyRecipe(), Data{Images: ds}, FitOptions{Dir: t.TempDir(), Resume: true}); err == nil || !strings.Contains(err.Error(), "no run to continue") {
		t.Errorf("resuming an empty folder: %v", err)
	}
}

// TestFitPairs trains the original recipe on a list of labelled pairs: the
// pairs are split by label, an epoch is one pass over the training pairs,
// the model returned is BestEpoch's with the notes given, and a recipe
// that pretrains refuses pairs.
func TestFitPairs(t *testing.T) {
	ds := memoryPatterns(t, 4, 4, 3)
	var pairs []data.Pair
	for i := range ds.Len() {
		for j := i + 1; j < ds.Len(); j += 5 {
			pairs = append(pairs, data.Pair{A: i, B: j, Label: map[bool]float32{true: 1}[ds.Class(i) == ds.Class(j)]})
		}
	}
	wantTrain, wantVal, err := data.SplitPairs(pairs, 0.25, 4)
	if err != nil {
		t.Fatal(err)
	}
	r := OriginalRecipe()
	r.Model.Encoder = resnet.Config{Depth: 18, Width: 8}
	r.Model.Input.Size = 32
	r.Model.Hidden = []int{16}
	r.ValFraction = 0.25
	r.Pairs.Epochs, r.Pairs.BatchSize = 2, 4
	dir := t.TempDir()
	m, rep, err := Fit(context.Background(), r, Data{Images: ds, Pairs: pairs}, FitOptions{Dir: dir, Seed: 4, Workers: 2, Info: map[string]string{"data": "patterns"}})
	if err != nil {
		t.Fatal(err)
	}
	steps := uint64((len(wantTrain) + 3) / 4)
	if rep.TrainPairs != len(wantTrain) || rep.ValPairs != len(wantVal) || rep.TrainClasses != 0 || len(rep.Pairs) != 2 || rep.Pairs[0].Step != steps {
		t.Fatalf("report %+v; want %d training pairs, %d validation pairs, epochs of %d steps", rep, len(wantTrain), len(wantVal), steps)
	}
	if !slices.Equal(rep.Validation.Pairs(), wantVal) {
		t.Errorf("validation pairs %v, want %v", rep.Validation.Pairs(), wantVal)
	}
	best, ok := BestEpoch(rep.Pairs, "")
	if !ok || m.Threshold() != best.Threshold || m.Info()["data"] != "patterns" || m.Info()["recipe"] != "original" {
		t.Errorf("model threshold %v, info %v; best epoch %+v", m.Threshold(), m.Info(), best)
	}
	if name, err := RecordedRecipe(dir); name != "original" || err != nil {
		t.Errorf("recorded recipe %q, %v", name, err)
	}
	scores, labels, err := rep.Validation.Scores(m)
	if err != nil || len(scores) != len(wantVal) {
		t.Fatalf("scores %v: %v", scores, err)
	}
	for i, p := range wantVal {
		s, err := m.Compare(mustImage(t, ds, p.A), mustImage(t, ds, p.B))
		if err != nil || math.Abs(float64(s)-scores[i]) > 1e-6 || labels[i] != float64(p.Label) {
			t.Errorf("pair %d: score %v, Compare %v (%v); label %v, want %v", i, scores[i], s, err, labels[i], p.Label)
		}
	}
	if _, _, err := Fit(context.Background(), tinyRecipe(), Data{Images: ds, Pairs: pairs}, FitOptions{}); err == nil || !strings.Contains(err.Error(), "needs classes") {
		t.Errorf("pretraining on pairs: %v", err)
	}
}

func mustImage(t *testing.T, ds data.Dataset, i int) image.Image {
	t.Helper()
	img, err := ds.Image(i)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestBestEpoch picks the first best epoch by AUC or by loss, skipping
// epochs without validation.
func TestBestEpoch(t *testing.T) {
	h := []EpochStats{
		{Epoch: 1, ValAUC: math.NaN(), ValLoss: math.NaN()},
		{Epoch: 2, ValAUC: 0.7, ValLoss: 0.5},
		{Epoch: 3, ValAUC: 0.8, ValLoss: 0.6},
		{Epoch: 4, ValAUC: 0.8, ValLoss: 0.4},
	}
	for _, c := range []struct {
		metric Metric
		want   int
	}{{"", 3}, {MetricAUC, 3}, {MetricLoss, 4}} {
		if e, ok := BestEpoch(h, c.metric); !ok || e.Epoch != c.want {
			t.Errorf("%q: epoch %d (%v), want %d", c.metric, e.Epoch, ok, c.want)
		}
	}
	if _, ok := BestEpoch(h[:1], ""); ok {
		t.Error("no validated epoch: ok")
	}
}

// TestRecipeWith: each override changes its field only, zero fields keep
// the recipe's, and the preset's own pretraining settings are untouched.
func TestRecipeWith(t *testing.T) {
	r := OneShotRecipe()
	if got := r.With(Overrides{}); !reflect.DeepEqual(got, r) {
		t.Errorf("no overrides changed the recipe:\n%+v\n%+v", got, r)
	}
	unit, smooth := preprocess.UnitRange, 0.0
	got := r.With(Overrides{Budget: Budget{PretrainEpochs: 1, PretrainSteps: 2, PairEpochs: 3}, Size: 40, Channels: 3, Invert: true, Norm: &unit,
		NoAugment: true, NoRotations: true, LearningRate: 0.1, LabelSmoothing: &smooth, CosineScale: 8, ValFraction: 0.3, ValPairs: 20})
	want := OneShotRecipe()
	p := *want.Pretrain
	p.Epochs, p.StepsPerEpoch, p.Optimizer.LearningRate, p.LabelSmoothing, p.CosineScale = 1, 2, 0.1, 0, 8
	want.Pretrain = &p
	want.Pairs.Epochs = 3
	want.Model.Input = preprocess.Config{Size: 40, Channels: 3, Invert: true, Norm: unit}
	want.Augment, want.Rotations, want.ValFraction, want.ValPairs = data.Augment{}, false, 0.3, 20
	if !reflect.DeepEqual(got, want) {
		t.Errorf("overridden:\n%+v\n%+v\nwant\n%+v\n%+v", got, *got.Pretrain, want, *want.Pretrain)
	}
	if !reflect.DeepEqual(r, OneShotRecipe()) {
		t.Error("With changed the recipe it was called on")
	}
	// Without pretraining the learning rate is the pair stage's.
	if o := OriginalRecipe().With(Overrides{LearningRate: 0.5}); o.Pairs.Optimizer.LearningRate != 0.5 || o.Pretrain != nil {
		t.Errorf("original recipe: %+v", o)
	}
}

func TestWarnSaturated(t *testing.T) {
	var rep FitReport
	var out bytes.Buffer
	rep.warnSaturated(&out, "pretraining", "one-shot accuracy", []float64{0.9, 1, 0.98})
	if len(rep.Warnings) != 0 || out.Len() != 0 {
		t.Errorf("one perfect epoch warned: %q", rep.Warnings)
	}
	rep.ValImages, rep.ValClasses = 30, 3
	rep.warnSaturated(&out, "pretraining", "one-shot accuracy", []float64{0.9, 1, 1, math.NaN()})
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "2 epochs of pretraining") || !strings.Contains(out.String(), "warning: validation saturated") || !strings.Contains(out.String(), "30 images of 3 classes") {
		t.Errorf("two perfect epochs: warnings %q, progress %q", rep.Warnings, out.String())
	}
}
