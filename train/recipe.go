package train

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// Recipe is a complete way to train a Siamese model on a labelled dataset:
// the model, an optional classification pretraining stage and the pair
// stage that trains with binary cross-entropy. Presets returns the named
// recipes; a Recipe can also be built or adjusted field by field.
type Recipe struct {
	// Name identifies the recipe in logs and saved models.
	Name string
	// Model is the model to build.
	Model siamese.Config
	// ValFraction of the classes is held out (class-disjoint) for model
	// selection: one-shot tasks during pretraining, pairs during the pair
	// stage. Two classes at least are held out when the data have four
	// or more.
	ValFraction float64
	// Holdout says what ValFraction is a fraction of: the classes
	// (HoldClasses, the default: validation classes are never trained
	// on), each class's images (HoldImages: validation images are new
	// images of the training classes), or both (HoldBoth: the classes,
	// then the images of the others); HoldAuto chooses HoldBoth when
	// fewer than MinValClasses classes would be held out.
	Holdout HoldoutKind `json:",omitempty"`
	// Augment distorts training images (both stages, unless the pair stage
	// trains on cached features of a frozen encoder).
	Augment data.Augment
	// Rotations adds each training class's three quarter turns as classes
	// of their own during pretraining.
	Rotations bool
	// Outliers adds synthetic images that show nothing (constant colours,
	// noise, dots, stripes, checkerboards, smooth fields: data.WithOutliers)
	// to pretraining as one extra class, this many per training image
	// (0.05: one for every twenty), so that the embedding learns to put a
	// blank page or a texture away from every real class (outlier
	// exposure). The pair stage never sees them. Default 0: none.
	Outliers float64 `json:",omitempty"`
	// Pretrain, when non-nil, trains the towers as a classifier over the
	// training classes first.
	Pretrain *PretrainConfig
	// Metric, when non-nil, trains the towers with a metric learning loss
	// (after pretraining, when both are set), before the pair stage.
	Metric *MetricConfig `json:",omitempty"`
	// Pairs is the pair stage's configuration. StepsPerEpoch 0 means one
	// epoch is as many pairs as there are training images.
	Pairs Config
	// FreezeEncoder makes the pair stage train the head only (the encoder
	// keeps what pretraining learned); with no augmentation in that stage
	// each image's encoder output is computed once.
	FreezeEncoder bool
	// Platt fits Platt scaling to the chosen model's logits on the
	// validation pairs after the pair stage (PlattScale), so that its
	// scores are probabilities, and calibrates the threshold again; Fit
	// reports the calibration error before and after and writes
	// ReliabilityPlot. Default false.
	Platt bool `json:",omitempty"`
	// ValPairs is the number of validation pairs of the pair stage;
	// default 1000.
	ValPairs int
	// ValEpisodes of 20-way one-shot tasks (fewer ways when fewer
	// validation classes exist) select the pretraining epoch; default 10,
	// and never fewer than make 200 tasks.
	ValEpisodes int
}

// presets maps each preset's name to its constructor and a description.
var presets = []struct {
	name, doc string
	make      func() Recipe
}{
	{"oneshot", "ResNet-50 on 32x32 grey input, pretrained as a classifier over the training classes and their quarter turns (Koch distortions, label smoothing 0.1, Adam 2e-3 with warm-up and cosine decay, 128,000 images), then a cosine-distance sigmoid head fitted on pairs with the encoder frozen; about 50 minutes on 2 cores, 70.3% 20-way one-shot on Omniglot's official runs", OneShotRecipe},
	{"oneshot-long", "oneshot with 21 epochs of pretraining instead of 8 (336,000 images) and a cosine classifier (logits 16 times the cosine to each class), about 45 minutes on 2 cores; 87.25% 20-way one-shot on Omniglot's official runs (mean of three seeds), 91.5% when the quarter turns are compared at test time (README)", OneShotLongRecipe},
	{"quick", "for data whose classes are the ones met in use (digits, a fixed catalogue), in minutes: ResNet-18 on 32x32 grey input, pretrained as a cosine classifier over the training classes and synthetic outlier images (38,400 images), 5% of each class's images held out to choose the epochs and threshold, then a cosine-distance sigmoid head fitted on pairs with the encoder frozen and calibrated by Platt scaling; about 2.5 minutes on 2 cores, 98.8% on MNIST's test pairs (mean of three seeds)", QuickRecipe},
	{"oneshot-triplet", "oneshot with metric learning instead of classification: the towers trained by the triplet loss with batch-all mining (margin 0.2 on unit-length embeddings) on batches of 16 classes with 4 images each, 8 epochs of 250 steps (128,000 images), Adam 1e-3 with warm-up and cosine decay; then the same pair stage", OneShotTripletRecipe},
	{"quick-long", "quick with 16 epochs of pretraining instead of 6 (102,400 images)", QuickLongRecipe},
	{"original", "the Keras design: ResNet-50 on 64x64 input, Dense 1024 and 512 with Dropout 0.2, L1 distance, Dense(1) and a sigmoid, binary cross-entropy, Adam 1e-4, trained on pairs only; 14.8% 20-way one-shot on Omniglot's official runs after 6,400 pairs", OriginalRecipe},
}

// Presets returns the names of the preset recipes, the default first.
func Presets() []string {
	var names []string
	for _, p := range presets {
		names = append(names, p.name)
	}
	return names
}

// PresetDoc returns a one-line description of a preset, or "".
func PresetDoc(name string) string {
	for _, p := range presets {
		if p.name == name {
			return p.doc
		}
	}
	return ""
}

// Preset returns the named recipe (see Presets).
func Preset(name string) (Recipe, error) {
	for _, p := range presets {
		if p.name == strings.ToLower(strings.TrimSpace(name)) {
			return p.make(), nil
		}
	}
	return Recipe{}, fmt.Errorf("train: no recipe %q (have %s)", name, strings.Join(Presets(), ", "))
}

// OneShotRecipe returns the default recipe, "oneshot", made for one-shot
// matching on small data sets of characters or symbols:
//
//   - Model: ResNet-50 with average pooling on 32x32 grey input, no hidden
//     layers, cosine distance: the embedding is the encoder's 2,048
//     pooled features.
//   - Pretraining: 8 epochs of 250 steps of 64 images (128,000 images)
//     classifying the training classes and their quarter turns, with Koch
//     et al.'s affine distortions, label smoothing 0.1, Adam at 2e-3 with
//     250 warm-up steps and cosine decay to 1%; the epoch with the best
//     20-way one-shot accuracy on the held-out classes is kept.
//   - Pair stage: the encoder frozen, the head (one weight and a bias on
//     the cosine distance) fitted by binary cross-entropy for 2 epochs of
//     150 steps of 32 pairs, Adam at 0.5; then Platt scaling on the
//     held-out pairs, so that scores are probabilities, and the verdict
//     threshold calibrated on them.
//   - 10% of the classes held out for model selection; when that is fewer
//     than MinValClasses classes, 10% of the other classes' images too
//     (HoldAuto), so that a few classes do not choose the epoch and
//     threshold alone.
//
// The README gives its cost and one-shot accuracy on Omniglot and MNIST,
// with the commands that measure them.
func OneShotRecipe() Recipe {
	return Recipe{
		Name: "oneshot",
		Model: siamese.Config{
			Encoder:  resnet.Config{Depth: 50},
			Hidden:   []int{},
			Dropout:  -1,
			Distance: siamese.Cosine,
			Input:    preprocess.Config{Size: 32, Channels: 1},
		},
		ValFraction: 0.1,
		Holdout:     HoldAuto,
		Augment:     data.KochAugment(),
		Rotations:   true,
		Pretrain: &PretrainConfig{
			Epochs: 8, StepsPerEpoch: 250, BatchSize: 64,
			Optimizer:      Optimizer{Kind: Adam, LearningRate: 2e-3},
			Schedule:       Schedule{Kind: CosineSchedule, WarmupSteps: 250, MinFactor: 0.01},
			LabelSmoothing: 0.1,
		},
		Pairs: Config{
			Epochs: 2, StepsPerEpoch: 150, BatchSize: 32,
			Optimizer: Optimizer{Kind: Adam, LearningRate: 0.5},
			Schedule:  Schedule{Kind: CosineSchedule},
		},
		FreezeEncoder: true,
		Platt:         true,
		ValPairs:      1000,
		ValEpisodes:   10,
	}
}

// OneShotLongRecipe returns "oneshot-long": OneShotRecipe with 21 epochs
// of pretraining (336,000 images) instead of 8, 40 to 46 minutes on 2
// cores, and a cosine classifier (PretrainConfig.CosineScale
// 16: each logit is 16 times the cosine between the embedding and the
// class's weights). With this many epochs the quarter turns keep the
// training classes from being learned by heart. The README compares it
// with the linear classifier, fewer epochs and no turns.
func OneShotLongRecipe() Recipe {
	r := OneShotRecipe().WithBudget(Budget{PretrainEpochs: 21})
	r.Name = "oneshot-long"
	r.Pretrain.CosineScale = 16
	return r
}

// QuickRecipe returns "quick", made for data whose classes are the ones a
// model meets in use (MNIST's digits, a fixed catalogue of products), on
// a budget of minutes; examples/mnist trains by it:
//
//   - Model: ResNet-18 (pytorch/examples' choice for MNIST pairs) with
//     average pooling on 32x32 grey input, the cosine distance of the
//     encoder's 512 pooled features. A ResNet-50 costs about three times
//     as much per image and learns the digits more slowly per image: at a
//     budget of the same minutes it reached 96-98% (README).
//   - Validation: 5% of each class's images held out (HoldImages), to
//     choose the pretraining epoch (10-way one-shot tasks on them), the
//     pair-stage epoch and the threshold.
//   - Pretraining: 6 epochs of 100 steps of 64 images (38,400 images)
//     classifying the training classes and synthetic outlier images (one
//     for every ten training images: Outliers), with a cosine classifier
//     (scale 16), label smoothing 0.1, Adam at 2e-3 with 60 warm-up steps
//     and cosine decay to 1%, no distortions.
//   - Pair stage: the encoder frozen, the head (one weight and a bias on
//     the cosine distance) fitted by binary cross-entropy for 1 epoch of
//     100 steps of 32 pairs, Adam at 0.5.
//   - Platt scaling of the head on the validation pairs, so that scores
//     are probabilities, then the threshold calibrated.
//
// The README gives its accuracy on MNIST and its cost, with the command.
func QuickRecipe() Recipe {
	r := OneShotRecipe()
	r.Name = "quick"
	r.Model.Encoder = resnet.Config{Depth: 18}
	r.Holdout, r.ValFraction = HoldImages, 0.05
	r.Augment, r.Rotations = data.Augment{}, false
	r.Outliers = 0.1
	r.Platt = true
	p := *r.Pretrain
	p.Epochs, p.StepsPerEpoch = 6, 100
	p.Schedule.WarmupSteps = 60
	p.CosineScale = 16
	r.Pretrain = &p
	r.Pairs.Epochs, r.Pairs.StepsPerEpoch = 1, 100
	return r
}

// OneShotTripletRecipe returns "oneshot-triplet": OneShotRecipe with a
// metric learning stage in place of classification pretraining, for the
// same number of images: the triplet loss with batch-all mining (Hermans,
// Beyer & Leibe 2017) with margin 0.2 on the embeddings scaled to unit
// length, batches of 16 classes (counting quarter turns as classes) with 4
// images each, 8 epochs of 250 steps, Adam at 1e-3 with 250 warm-up steps
// and cosine decay to 1%, the epoch chosen by 20-way one-shot accuracy on
// the held-out classes. The pair stage is OneShotRecipe's. Batch-all
// rather than batch-hard: from a randomly initialised encoder, batch-hard
// mining collapsed the embeddings on Omniglot in one-epoch runs (its loss
// stayed at the margin and one-shot accuracy at chance, at learning rates
// 1e-3 and 3e-4), where batch-all learned.
func OneShotTripletRecipe() Recipe {
	r := OneShotRecipe()
	r.Name = "oneshot-triplet"
	r.Pretrain = nil
	r.Metric = &MetricConfig{
		Loss: TripletBatchAll, Margin: 0.2, P: 16, M: 4,
		Epochs: 8, StepsPerEpoch: 250,
		Optimizer: Optimizer{Kind: Adam, LearningRate: 1e-3},
		Schedule:  Schedule{Kind: CosineSchedule, WarmupSteps: 250, MinFactor: 0.01},
	}
	return r
}

// QuickLongRecipe returns "quick-long": QuickRecipe with 16 epochs of
// pretraining (102,400 images) instead of 6, for MNIST's 99%. The README
// gives its accuracy over seeds and its cost.
func QuickLongRecipe() Recipe {
	r := QuickRecipe().WithBudget(Budget{PretrainEpochs: 16})
	r.Name = "quick-long"
	return r
}

// OriginalRecipe returns "original", the design the library's defaults
// reproduce (siamese.Config's zero value on 64x64 input): pairs only,
// Adam 1e-4, 10 epochs, no augmentation, 10% of the classes held out.
// One epoch is as many pairs as there are training images (or training
// pairs, when Fit is given a list of pairs).
func OriginalRecipe() Recipe {
	return Recipe{
		Name:        "original",
		Model:       siamese.Config{Input: preprocess.Config{Size: 64}},
		ValFraction: 0.1,
		Pairs:       Config{Epochs: 10, BatchSize: 32, Optimizer: Optimizer{Kind: Adam, LearningRate: 1e-4}},
		ValPairs:    1000,
		ValEpisodes: 10,
	}
}

// Validate reports what is wrong with r, or nil.
func (r Recipe) Validate() error {
	var errs []error
	if err := r.Model.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(r.ValFraction > 0 && r.ValFraction < 1) {
		errs = append(errs, fmt.Errorf("train: recipe: validation fraction %v outside (0, 1)", r.ValFraction))
	}
	if r.Augment.Enabled {
		errs = append(errs, r.Augment.Validate())
	}
	if r.Pretrain != nil {
		errs = append(errs, r.Pretrain.Validate())
	}
	if r.Metric != nil {
		errs = append(errs, r.Metric.Validate())
	}
	p := r.Pairs
	if p.StepsPerEpoch == 0 {
		p.StepsPerEpoch = 1 // chosen from the data by Fit
	}
	errs = append(errs, p.Validate())
	if !(r.Outliers >= 0 && r.Outliers <= 1) {
		errs = append(errs, fmt.Errorf("train: recipe: outliers %v per training image outside [0, 1]", r.Outliers))
	}
	if _, err := ParseHoldoutKind(string(r.Holdout)); err != nil {
		errs = append(errs, err)
	}
	if r.ValPairs < 0 || r.ValEpisodes < 0 {
		errs = append(errs, fmt.Errorf("train: recipe: %d validation pairs, %d episodes", r.ValPairs, r.ValEpisodes))
	}
	return errors.Join(errs...)
}

// FitOptions are the parts of a Fit call that do not change what is
// learned.
type FitOptions struct {
	// Dir receives each stage's files (see PretrainConfig.Dir and
	// Config.Dir); best.safetensors there is the final model. Empty:
	// nothing is written.
	Dir string
	// Progress receives progress lines; nil for none.
	Progress io.Writer
	// Workers decode and distort images; 0 means GOMAXPROCS.
	Workers int
	// Seed drives the split, the sampling, the initialisation and Dropout.
	Seed uint64
	// Resume continues the run in Dir that was interrupted or killed. The
	// recipe, data and Seed must be the run's: Fit checks them against
	// the record it keeps in Dir (RunRecord). Pretraining continues from
	// its checkpoint (PretrainCheckpoint), losing at most the steps since
	// the last epoch ended (none when it was cancelled); the pair stage
	// continues from its checkpoint, last.safetensors, when it had begun.
	// A resumed run ends where an uninterrupted one would, bit for bit.
	Resume bool
	// NoImageCache keeps no decoded image in memory between steps. By
	// default every training image is kept once decoded, which suits data
	// sets of small images (Omniglot, MNIST) but not folders of large
	// photos. It changes nothing but memory and speed.
	NoImageCache bool
	// Info are notes to keep in the model's files (siamese.Model.SetInfo),
	// such as where the data came from.
	Info map[string]string
}

// Data is what Fit trains on: labelled images, and optionally labelled
// pairs of them.
type Data struct {
	// Images are the images, each with a class.
	Images data.Dataset
	// Pairs, when not nil, are the pairs to train on: the recipe's
	// ValFraction of the positive and of the negative pairs are held out
	// for validation (data.SplitPairs), and the classes are not used.
	// Without Pairs, the classes are split (class-disjoint) and pairs are
	// drawn from them. A recipe that pretrains needs classes.
	Pairs []data.Pair
}

// FitReport says what Fit did.
type FitReport struct {
	TrainClasses, ValClasses int // 0 when trained on Data.Pairs
	TrainImages, ValImages   int // 0 when trained on Data.Pairs
	TrainPairs, ValPairs     int // Data.Pairs split; 0 without
	// HeldClasses of the ValClasses are held out whole; the others are
	// training classes with images held out. 0 when trained on Data.Pairs.
	HeldClasses int
	// ValWays is the number of ways of pretraining's one-shot validation
	// tasks: 20, or the validation classes with two images or more when
	// fewer; 0 without pretraining.
	ValWays int
	// Holdout is what was held out: HoldClasses, HoldImages or HoldBoth
	// (HoldAuto resolved); "" when trained on Data.Pairs.
	Holdout  HoldoutKind
	Pretrain []PretrainEpoch // nil without pretraining
	Metric   []PretrainEpoch // nil without metric learning
	Pairs    []EpochStats
	// Validation holds the pair stage's held-out pairs.
	Validation *PairValidation
	// Calibration is what Platt scaling did; nil without Recipe.Platt.
	Calibration *PlattResult
	// Retrieval measures the final model's embeddings on held-out images
	// (see heldOutRetrieval); nil when trained on Data.Pairs.
	Retrieval *eval.Retrieval
	// Warnings name choices the validation data could not make well, such
	// as an epoch chosen among several with perfect validation scores.
	Warnings []string
}

// Fit trains a model on d by recipe r: it holds out r.ValFraction of the
// classes (or of d.Pairs), pretrains when r.Pretrain is set, then runs the
// pair stage, and returns the model with the best pair-stage validation
// metric. Cancelling ctx stops it after saving what the current stage has
// (see Pretrainer.Run and Trainer.Run) and returns ctx's error.
func Fit(ctx context.Context, r Recipe, d Data, opts FitOptions) (*siamese.Model, FitReport, error) {
	var rep FitReport
	if err := r.Validate(); err != nil {
		return nil, rep, err
	}
	ds := d.Images
	if ds == nil {
		return nil, rep, errors.New("train: recipe: no images")
	}
	var trainIdx, valIdx []int
	var trainPairs, valPairs []data.Pair
	if d.Pairs != nil {
		if r.Pretrain != nil || r.Metric != nil {
			return nil, rep, fmt.Errorf("train: recipe %q pretrains a classifier or learns a metric: it needs classes, not a list of pairs", r.Name)
		}
		var err error
		if trainPairs, valPairs, err = data.SplitPairs(d.Pairs, r.ValFraction, opts.Seed); err != nil {
			return nil, rep, fmt.Errorf("train: recipe: %w", err)
		}
		rep.TrainPairs, rep.ValPairs = len(trainPairs), len(valPairs)
		progressf(opts.Progress, "split: %d training pairs, %d validation pairs\n", len(trainPairs), len(valPairs))
	} else {
		var err error
		if trainIdx, valIdx, err = splitData(ds, r, opts, &rep); err != nil {
			return nil, rep, err
		}
	}
	if err := recordRun(r, opts, rep); err != nil {
		return nil, rep, err
	}
	mcfg := r.Model
	mcfg.Seed = opts.Seed
	m, err := siamese.New(mcfg)
	if err != nil {
		return nil, rep, err
	}
	m.SetInfo("recipe", r.Name)
	for _, k := range slices.Sorted(maps.Keys(opts.Info)) {
		m.SetInfo(k, opts.Info[k])
	}
	input := m.Config().Input
	var oneShot *OneShotValidation
	if r.Pretrain != nil || r.Metric != nil {
		if oneShot, err = recipeOneShot(r, ds, valIdx, &rep, opts.Seed); err != nil {
			return nil, rep, err
		}
	}
	if r.Pretrain != nil {
		pds, pidx := ds, trainIdx
		if r.Outliers > 0 {
			n := int(math.Round(r.Outliers * float64(len(trainIdx))))
			pds, pidx = data.WithOutliers(ds, n, opts.Seed), slices.Clone(trainIdx)
			for k := range n {
				pidx = append(pidx, ds.Len()+k)
			}
		}
		imgs, err := NewSampledImages(pds, pidx, input, r.Augment, r.Rotations, opts.Workers, opts.Seed)
		if err != nil {
			return nil, rep, err
		}
		if !opts.NoImageCache {
			imgs.Batcher().SetCacheImages(len(pidx))
		}
		pc := *r.Pretrain
		pc.Seed, pc.Dir, pc.Progress = opts.Seed, opts.Dir, opts.Progress
		pt, err := NewPretrainer(m, imgs, oneShot, pc)
		if err != nil {
			return nil, rep, err
		}
		if ckpt := filepath.Join(opts.Dir, PretrainCheckpoint); opts.Resume && exists(ckpt) {
			if err := pt.Resume(ckpt); err != nil {
				return nil, rep, err
			}
			progressf(opts.Progress, "resuming pretraining from %s at step %d\n", ckpt, pt.Step())
		}
		err = pt.Run(ctx)
		rep.Pretrain = pt.History()
		if err != nil {
			return nil, rep, err
		}
		var accs []float64
		for _, e := range rep.Pretrain {
			accs = append(accs, e.ValOneShot)
		}
		rep.warnSaturated(opts.Progress, "pretraining", "one-shot accuracy", accs)
	}
	if r.Metric != nil {
		if rep.Metric, err = fitMetric(ctx, r, m, ds, trainIdx, oneShot, opts); err != nil {
			return nil, rep, err
		}
	}
	if r.FreezeEncoder {
		if m, err = frozenCopy(m); err != nil {
			return nil, rep, err
		}
	}
	aug := r.Augment
	if r.FreezeEncoder {
		aug = data.Augment{} // the encoder's outputs are cached instead
	}
	var batches Batches
	var val *PairValidation
	epochItems := len(trainIdx) // one epoch by default: as many pairs
	if d.Pairs != nil {
		lb, err := NewListBatches(ds, trainPairs, input, aug, opts.Workers, opts.Seed)
		if err != nil {
			return nil, rep, err
		}
		batches, epochItems = lb, len(trainPairs)
		if val, err = NewPairValidation(ds, valPairs); err != nil {
			return nil, rep, err
		}
	} else {
		sb, err := NewSampledBatches(ds, trainIdx, input, aug, opts.Workers, opts.Seed)
		if err != nil {
			return nil, rep, err
		}
		if !opts.NoImageCache {
			sb.Batcher().SetCacheImages(len(trainIdx))
		}
		batches = sb
		vp := r.ValPairs
		if vp == 0 {
			vp = 1000
		}
		pairs, err := data.FixedPairs(ds, valIdx, vp, opts.Seed)
		if err != nil {
			return nil, rep, fmt.Errorf("train: recipe: %w", err)
		}
		if val, err = NewPairValidation(ds, pairs); err != nil {
			return nil, rep, err
		}
		progressf(opts.Progress, "split: %d training images in %d classes; %d validation pairs from %d images in %d classes (%s)\n",
			rep.TrainImages, rep.TrainClasses, len(pairs), rep.ValImages, rep.ValClasses, rep.Holdout)
	}
	rep.Validation = val
	tc := r.Pairs
	tc.Seed, tc.Dir, tc.Progress = opts.Seed, opts.Dir, opts.Progress
	if tc.StepsPerEpoch == 0 {
		bs := tc.WithDefaults().BatchSize
		tc.StepsPerEpoch = max(1, (epochItems+bs-1)/bs)
	}
	var tr *Trainer
	if ckpt := filepath.Join(opts.Dir, Checkpoint); opts.Resume && exists(ckpt) {
		if m, tr, err = Resume(ckpt, batches, val, opts.Progress); err != nil {
			return nil, rep, err
		}
		progressf(opts.Progress, "resuming the pair stage from %s at step %d\n", ckpt, tr.Step())
	} else if tr, err = New(m, batches, val, tc); err != nil {
		return nil, rep, err
	}
	err = tr.Run(ctx)
	rep.Pairs = tr.History()
	if err != nil {
		return nil, rep, err
	}
	var auc []float64
	for _, e := range rep.Pairs {
		auc = append(auc, e.ValAUC)
	}
	rep.warnSaturated(opts.Progress, "the pair stage", "AUC", auc)
	if opts.Dir != "" {
		if m, err = siamese.Load(filepath.Join(opts.Dir, BestModel)); err != nil {
			return nil, rep, fmt.Errorf("train: recipe: %w", err)
		}
	} else if err := tr.UseBest(); err != nil {
		return nil, rep, err
	}
	if r.Platt {
		if err := plattStage(m, val, tc.TargetFAR, opts, &rep); err != nil {
			return nil, rep, err
		}
	}
	if d.Pairs == nil {
		if rep.Retrieval, err = heldOutRetrieval(m, ds, valIdx, opts.Seed); err != nil {
			return nil, rep, err
		}
	}
	return m, rep, nil
}

// plattStage fits Platt scaling to m on val, reports it and, with a
// folder, saves the calibrated model as BestModel and draws
// ReliabilityPlot.
func plattStage(m *siamese.Model, val *PairValidation, targetFAR float64, opts FitOptions, rep *FitReport) error {
	pr, err := PlattScale(m, val, targetFAR)
	if errors.Is(err, ErrMisranked) {
		w := fmt.Sprintf("no Platt scaling: %v; the scores are the pair stage's", err)
		rep.Warnings = append(rep.Warnings, w)
		progressf(opts.Progress, "warning: %s\n", w)
		return nil
	}
	if err != nil {
		return err
	}
	rep.Calibration = &pr
	progressf(opts.Progress, "calibration: Platt scaling (scale %.4g, offset %.4g) on %d validation pairs: ECE %.4f before, %.4f after; threshold %.4f\n",
		pr.A, pr.B, len(val.Pairs()), pr.ECEBefore, pr.ECEAfter, pr.Threshold)
	if opts.Dir == "" {
		return nil
	}
	if err := m.Save(filepath.Join(opts.Dir, BestModel)); err != nil {
		return fmt.Errorf("train: recipe: %w", err)
	}
	err = eval.PlotReliability(filepath.Join(opts.Dir, ReliabilityPlot), map[string][]eval.Bin{
		"before calibration": pr.Before, "after calibration": pr.After})
	if err != nil {
		return fmt.Errorf("train: recipe: %w", err)
	}
	return nil
}

// Split returns the indices of the images of ds that Fit trains on and
// those it validates on, for recipe r and FitOptions.Seed seed: the
// held-out classes (or images) that choose Fit's epochs and calibrate its
// threshold. Settings of an evaluation (such as test-time augmentation) are
// chosen on the validation images, leaving a test set untouched.
func (r Recipe) Split(ds data.Dataset, seed uint64) (trainIdx, valIdx []int, err error) {
	if ds == nil {
		return nil, nil, errors.New("train: recipe: split: no dataset")
	}
	var rep FitReport
	return splitData(ds, r, FitOptions{Seed: seed}, &rep)
}

// splitData splits the images of ds for training and validation as
// r.Holdout says, fills in rep's counts and reports the split.
func splitData(ds data.Dataset, r Recipe, opts FitOptions, rep *FitReport) (trainIdx, valIdx []int, err error) {
	kind := r.Holdout
	if kind == "" {
		kind = HoldClasses
	}
	if kind != HoldImages {
		trainIdx, valIdx = data.SplitClasses(ds, r.ValFraction, opts.Seed)
		if nv := data.CountClasses(ds, valIdx); nv < 2 && nv+data.CountClasses(ds, trainIdx) >= 4 {
			n := nv + data.CountClasses(ds, trainIdx)
			// Hold out two classes at least (MNIST's ten at 10%), so that
			// validation has negatives and one-shot tasks have a choice.
			trainIdx, valIdx = data.SplitClasses(ds, 2/float64(n), opts.Seed)
		}
		rep.HeldClasses = data.CountClasses(ds, valIdx)
		if kind == HoldAuto {
			kind = HoldClasses
			if rep.HeldClasses < MinValClasses {
				kind = HoldBoth
			}
		}
	}
	switch kind {
	case HoldImages:
		trainIdx, valIdx = data.SplitImages(ds, nil, r.ValFraction, opts.Seed)
	case HoldBoth:
		var held []int
		trainIdx, held = data.SplitImages(ds, trainIdx, r.ValFraction, opts.Seed)
		valIdx = append(valIdx, held...)
		slices.Sort(valIdx)
	}
	rep.Holdout = kind
	rep.TrainClasses, rep.ValClasses = data.CountClasses(ds, trainIdx), data.CountClasses(ds, valIdx)
	rep.TrainImages, rep.ValImages = len(trainIdx), len(valIdx)
	if rep.TrainClasses < 2 || rep.ValClasses < 2 {
		return nil, nil, fmt.Errorf("train: recipe: %d training and %d validation classes, want at least 2 of each", rep.TrainClasses, rep.ValClasses)
	}
	progressf(opts.Progress, "holdout %s: %d images of %d classes for training; %d images of %d classes for validation (%d classes held out whole)\n",
		kind, rep.TrainImages, rep.TrainClasses, rep.ValImages, rep.ValClasses, rep.HeldClasses)
	return trainIdx, valIdx, nil
}

// warnSaturated adds a warning when two epochs or more of a stage reach
// a perfect validation value: the epoch kept is then one of several the
// validation data cannot tell apart, and the data say little about the
// model beyond them.
func (rep *FitReport) warnSaturated(progress io.Writer, stage, metric string, values []float64) {
	n := 0
	for _, v := range values {
		if v >= 1 {
			n++
		}
	}
	if n < 2 {
		return
	}
	w := fmt.Sprintf("validation saturated: %d epochs of %s reached a validation %s of 1 (on %d images of %d classes), so the epoch kept is one of several it cannot tell apart; hold out more data (a larger ValFraction) to choose better",
		n, stage, metric, rep.ValImages, rep.ValClasses)
	rep.Warnings = append(rep.Warnings, w)
	progressf(progress, "warning: %s\n", w)
}

// progressf writes a line of progress to w, if not nil.
func progressf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// runRecord is what RunRecord holds.
type runRecord struct {
	Recipe                   Recipe
	Seed                     uint64
	TrainClasses, ValClasses int
	TrainImages, ValImages   int
	TrainPairs, ValPairs     int `json:",omitempty"`
}

// recordRun writes RunRecord in opts.Dir for a new run, or, resuming,
// checks that the run was started as this one: it refuses to start a run
// over another one's files.
func recordRun(r Recipe, opts FitOptions, rep FitReport) error {
	if opts.Dir == "" {
		if opts.Resume {
			return errors.New("train: recipe: resume needs the run's folder (FitOptions.Dir)")
		}
		return nil
	}
	if r.Pretrain != nil {
		p := r.Pretrain.withoutIO()
		r.Pretrain = &p
	}
	if r.Metric != nil {
		c := r.Metric.withoutIO()
		r.Metric = &c
	}
	r.Pairs = r.Pairs.withoutIO()
	r.Pairs.Dir = ""
	b, err := json.MarshalIndent(runRecord{r, opts.Seed, rep.TrainClasses, rep.ValClasses, rep.TrainImages, rep.ValImages, rep.TrainPairs, rep.ValPairs}, "", "  ")
	if err != nil {
		return fmt.Errorf("train: recipe: %w", err)
	}
	b = append(b, '\n')
	path := filepath.Join(opts.Dir, RunRecord)
	old, err := os.ReadFile(path)
	switch {
	case opts.Resume && err != nil:
		return fmt.Errorf("train: recipe: resume: no run to continue in %s (%w)", opts.Dir, err)
	case opts.Resume && !bytes.Equal(old, b):
		return fmt.Errorf("train: recipe: resume: %s was started with another %s (see %s)", opts.Dir, strings.Join(differences(old, b), ", "), path)
	case opts.Resume:
		return nil
	case err == nil:
		return fmt.Errorf("train: recipe: %s holds a run already (%s); resume it or choose another folder", opts.Dir, RunRecord)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("train: recipe: %w", err)
	}
	return writeAtomic(path, b)
}

// differences names the fields of two JSON objects that differ, one level
// into nested objects ("Recipe.Pretrain"), or "setting" when they do not
// parse.
func differences(a, b []byte) []string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return []string{"setting"}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(mb)) {
		if bytes.Equal(compactJSON(ma[k]), compactJSON(mb[k])) {
			continue
		}
		var na, nb map[string]json.RawMessage
		if json.Unmarshal(ma[k], &na) == nil && json.Unmarshal(mb[k], &nb) == nil {
			for _, kk := range slices.Sorted(maps.Keys(nb)) {
				if !bytes.Equal(compactJSON(na[kk]), compactJSON(nb[kk])) {
					out = append(out, k+"."+kk)
				}
			}
			continue
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		out = []string{"setting"}
	}
	return out
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// exists reports whether a file is at path.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// frozenCopy returns a model like m with its whole encoder frozen, holding
// copies of m's parameters and info.
func frozenCopy(m *siamese.Model) (*siamese.Model, error) {
	cfg := m.Config()
	cfg.FrozenStages = resnet.Stages
	f, err := siamese.New(cfg)
	if err != nil {
		return nil, err
	}
	src := m.Network().Params()
	dst := f.Network().Params()
	if len(src) != len(dst) {
		return nil, fmt.Errorf("train: recipe: frozen model has %d parameters, want %d", len(dst), len(src))
	}
	for i, p := range dst {
		if p.Name != src[i].Name || !p.Shape().Eq(src[i].Shape()) {
			return nil, fmt.Errorf("train: recipe: parameter %s %v does not match %s %v", p.Name, p.Shape(), src[i].Name, src[i].Shape())
		}
		copy(p.Float32s(), src[i].Float32s())
	}
	for k, v := range m.Info() {
		f.SetInfo(k, v)
	}
	return f, nil
}

// Budget shortens or lengthens a recipe; zero fields keep the recipe's.
type Budget struct {
	PretrainEpochs, PretrainSteps int // pretraining epochs and steps per epoch
	PairEpochs                    int // pair-stage epochs
	MetricEpochs, MetricSteps     int // metric learning epochs and steps per epoch
}

// WithBudget returns r with b applied (the pretraining and metric fields
// only when r has those stages). r's own PretrainConfig and MetricConfig
// are not modified.
func (r Recipe) WithBudget(b Budget) Recipe {
	if r.Metric != nil {
		c := *r.Metric
		c.Epochs = cmp.Or(b.MetricEpochs, c.Epochs)
		c.StepsPerEpoch = cmp.Or(b.MetricSteps, c.StepsPerEpoch)
		r.Metric = &c
	}
	if r.Pretrain != nil {
		p := *r.Pretrain
		if b.PretrainEpochs > 0 {
			p.Epochs = b.PretrainEpochs
		}
		if b.PretrainSteps > 0 {
			p.StepsPerEpoch = b.PretrainSteps
		}
		r.Pretrain = &p
	}
	if b.PairEpochs > 0 {
		r.Pairs.Epochs = b.PairEpochs
	}
	return r
}

// Overrides change a recipe as a command line would; zero fields keep the
// recipe's.
type Overrides struct {
	Budget
	// Size and Channels of the model's input.
	Size, Channels int
	// Invert reads images inverted (it never turns the recipe's off).
	Invert bool
	// Norm, when not nil, is the input normalisation.
	Norm *preprocess.Normalization
	// NoAugment and NoRotations turn the distortions and the quarter turns
	// off.
	NoAugment, NoRotations bool
	// LearningRate of the first stage: pretraining when the recipe
	// pretrains, else metric learning when it has that stage, else the
	// pair stage.
	LearningRate float64
	// MetricLoss and MetricMargin, when set, change the metric learning
	// stage's loss and margin (ignored without that stage); another loss
	// without a margin takes that loss's default margin.
	MetricLoss   EmbeddingLoss
	MetricMargin float64
	// LabelSmoothing (when not nil) and CosineScale of pretraining.
	LabelSmoothing *float64
	CosineScale    float64
	// ValFraction of the classes held out, and ValPairs drawn from them.
	ValFraction float64
	ValPairs    int
}

// With returns r with o applied. r's own PretrainConfig is not modified.
func (r Recipe) With(o Overrides) Recipe {
	r = r.WithBudget(o.Budget) // r.Pretrain is now r's own copy
	if o.Size > 0 {
		r.Model.Input.Size = o.Size
	}
	if o.Channels > 0 {
		r.Model.Input.Channels = o.Channels
	}
	r.Model.Input.Invert = r.Model.Input.Invert || o.Invert
	if o.Norm != nil {
		r.Model.Input.Norm = *o.Norm
	}
	if o.NoAugment {
		r.Augment = data.Augment{}
	}
	if o.NoRotations {
		r.Rotations = false
	}
	if o.ValFraction > 0 {
		r.ValFraction = o.ValFraction
	}
	if o.ValPairs > 0 {
		r.ValPairs = o.ValPairs
	}
	if r.Metric != nil {
		if o.MetricLoss != "" && o.MetricLoss != r.Metric.WithDefaults().Loss {
			r.Metric.Loss, r.Metric.Margin = o.MetricLoss, 0 // the new loss's default margin
		}
		r.Metric.Margin = cmp.Or(o.MetricMargin, r.Metric.Margin)
		if o.LearningRate > 0 && r.Pretrain == nil {
			r.Metric.Optimizer.LearningRate = o.LearningRate
		}
	}
	if r.Pretrain == nil {
		if o.LearningRate > 0 && r.Metric == nil {
			r.Pairs.Optimizer.LearningRate = o.LearningRate
		}
		return r
	}
	if o.LearningRate > 0 {
		r.Pretrain.Optimizer.LearningRate = o.LearningRate
	}
	if o.LabelSmoothing != nil {
		r.Pretrain.LabelSmoothing = *o.LabelSmoothing
	}
	if o.CosineScale != 0 {
		r.Pretrain.CosineScale = o.CosineScale
	}
	return r
}

// RecordedRecipe returns the name of the recipe of the run in dir, from
// its RunRecord.
func RecordedRecipe(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, RunRecord))
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	var rec struct{ Recipe struct{ Name string } }
	if err := json.Unmarshal(b, &rec); err != nil {
		return "", fmt.Errorf("train: %s: %w", filepath.Join(dir, RunRecord), err)
	}
	return rec.Recipe.Name, nil
}
