// Command oneshot measures a Siamese model on Omniglot's 20 official
// 20-way one-shot classification runs (Lake et al. 2015): in each task the
// model compares a test character with one drawing of each of 20
// characters never seen in training, and picks the highest score.
//
// Without -model it first trains one with a recipe of the package train
// (default "oneshot") on the background archives (by default
// ../shared/omniglot/images_background_small1.zip and small2.zip), writing
// the run to -out, and then evaluates it:
//
//	oneshot                                   # train by the default recipe, then evaluate
//	oneshot -recipe oneshot-long -out long    # 21 epochs instead of 8, cosine classifier
//	oneshot -recipe original -out original    # the original design, for comparison
//	oneshot -recipe oneshot-triplet -out tri  # triplet loss (batch-all) instead of a classifier
//	oneshot -model run/best.safetensors
//	oneshot -model run/best.safetensors -runs /data/omniglot/all_runs -json
//	oneshot -model run/best.safetensors -precision bf16   # bfloat16 encoder (build tag onednn)
//	oneshot -model long/best.safetensors -tta 16          # test-time augmentation
//	oneshot -model long/best.safetensors -recipe oneshot-long -heldout -tta 16
//	oneshot -model long/best.safetensors -tta 8 -tta-turns # and the quarter turns
//	oneshot -model long/best.safetensors -ensemble long/pretrain-last.safetensors
//
// It prints, as Lake's demo_classification.py does, each run's error rate
// and their average, then the mean accuracy; with -json one JSON object.
// After training it also prints recall@1, recall@5, precision@1 and MAP@R
// of the embeddings over the held-out background images, each the query of
// all the others.
// The runs are read from -runs: the all_runs folder or all_runs.zip of
// github.com/brendenlake/omniglot (by default ../shared/omniglot/all_runs.zip,
// the shared folder beside the repository, when run from the repository's
// root).
//
// -tta N embeds each image of the one-shot tasks as the mean of its
// embedding and those of N-1 copies distorted as in training
// (train.TTA with data.KochAugment); -tta-turns also compares the
// images' quarter turns, turn by turn (train.TTA.QuarterTurns), for
// models pretrained on the turns as classes. The runs' pairs keep the
// model's own scores, which were calibrated without either. -ensemble
// adds the encoders of other epochs of the model's run (train.TTA.Ensemble):
// a pair's score is the model's head on the encoders' mean distance. -heldout
// evaluates -model instead on 1,000 20-way tasks from the background
// images that -recipe held out for validation when trained with -seed:
// settings such as -tta are chosen there, and the official runs stay a
// test that no choice was made on.
//
// -precision bf16 evaluates the runs with the encoder in bfloat16
// (siamese.Model.SetPrecision: build tag onednn and a CPU with native
// bfloat16; elsewhere it stops with the reason); training is float32.
// With -vs-fp32 it evaluates in float32 too and prints that accuracy and
// the embeddings' error against float32's over every image the runs embed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/gcpace"
	"github.com/gosiamese/gosiamese/internal/modelfile"
	"github.com/gosiamese/gosiamese/internal/shell"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

func main() {
	gcpace.Set()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultRuns is where the runs are looked for without -runs, relative to
// the working directory: the shared folder beside the repository's root.
const defaultRuns = "../shared/omniglot/all_runs.zip"

// result is the -json output.
type result struct {
	Model     string `json:"model"`
	Runs      string `json:"runs"`
	Precision string `json:"precision"`
	// TTA is the number of embeddings averaged per image (-tta; 1: off).
	TTA int `json:"tta"`
	// TTATurns reports -tta-turns.
	TTATurns bool `json:"tta_turns"`
	// Ensemble lists -ensemble's model files.
	Ensemble      []string     `json:"ensemble,omitempty"`
	VsFP32        *vsFP32      `json:"vs_fp32,omitempty"`
	PerRun        []runResult  `json:"per_run"`
	MeanAccuracy  float64      `json:"mean_accuracy"`
	MeanErrorRate float64      `json:"mean_error_rate"`
	Training      *trainedInfo `json:"training,omitempty"`
	// Pairs measures the scores as probabilities on the runs' pairs.
	Pairs *pairResult `json:"pairs"`
}

// pairResult is verification on the official runs' balanced pairs
// (eval.RunPairs): characters no training or choice saw.
type pairResult struct {
	Same      int     `json:"same"`
	Different int     `json:"different"`
	AUC       float64 `json:"auc"`
	ECE       float64 `json:"ece"`
	Threshold float64 `json:"threshold"`
	// Accuracy is at the model's saved threshold, over all pairs and over
	// the same and the different pairs apart.
	Accuracy          float64 `json:"accuracy"`
	SameAccuracy      float64 `json:"same_accuracy"`
	DifferentAccuracy float64 `json:"different_accuracy"`
	// Reliability is the diagram's file, if one was written.
	Reliability string `json:"reliability,omitempty"`
}

type runResult struct {
	Name      string  `json:"name"`
	Tasks     int     `json:"tasks"`
	Correct   int     `json:"correct"`
	Accuracy  float64 `json:"accuracy"`
	ErrorRate float64 `json:"error_rate"`
}

// defaultBackground is the training data used without -model.
const defaultBackground = "../shared/omniglot/images_background_small1.zip,../shared/omniglot/images_background_small2.zip"

// options are the flags.
type options struct {
	model, runs, recipe, background, out string
	precision                            string
	asJSON, noRotations, noAugment       bool
	vsFP32                               bool
	invert                               bool
	norm                                 string
	resume, force                        bool
	args                                 []string // the command line, for the hint to resume
	seed                                 uint64
	pretrainEpochs, pretrainSteps        int
	pairEpochs, size                     int
	lr, smoothing, cosineScale           float64
	metricEpochs, metricSteps            int
	metricLoss                           string
	metricMargin                         float64
	reliability                          string
	tta                                  int
	ttaTurns                             bool
	heldout                              bool
	ensemble                             string
	members                              []*siamese.Model // -ensemble's encoders
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	flags := flag.NewFlagSet("oneshot", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&o.model, "model", "", "evaluate this model file (written by examples/train or siamese.Model.Save) instead of training one")
	flags.StringVar(&o.runs, "runs", defaultRuns, "Omniglot's one-shot runs: the all_runs folder or all_runs.zip (runNN/training, runNN/test, runNN/class_labels.txt) of github.com/brendenlake/omniglot; relative to the working directory")
	flags.StringVar(&o.precision, "precision", "fp32", "arithmetic of the encoder when evaluating: fp32, or bf16 (build tag onednn, a CPU with native bfloat16); training is fp32")
	flags.BoolVar(&o.vsFP32, "vs-fp32", false, "with -precision bf16: evaluate in fp32 too, and report its accuracy and the embeddings' error against fp32's")
	flags.BoolVar(&o.asJSON, "json", false, "print one JSON object (per-run and mean accuracy and error rate) instead of text")
	flags.StringVar(&o.recipe, "recipe", train.Presets()[0], "training recipe without -model: "+strings.Join(train.Presets(), ", "))
	flags.StringVar(&o.background, "background", defaultBackground, "training data without -model: comma-separated Omniglot folders or zips (alphabet/character/*.png), merged by class")
	flags.StringVar(&o.out, "out", "oneshot-run", "folder for the training run's models, logs and plots; must not hold a finished run")
	flags.Uint64Var(&o.seed, "seed", 1, "seed of the split, sampling, initialisation and Dropout")
	flags.IntVar(&o.pretrainEpochs, "pretrain-epochs", 0, "pretraining epochs (0: the recipe's)")
	flags.IntVar(&o.pretrainSteps, "pretrain-steps", 0, "pretraining steps per epoch (0: the recipe's)")
	flags.IntVar(&o.pairEpochs, "pair-epochs", 0, "pair-stage epochs (0: the recipe's)")
	flags.IntVar(&o.size, "size", 0, "input size in pixels (0: the recipe's)")
	flags.Float64Var(&o.lr, "lr", 0, "learning rate of the first stage (0: the recipe's)")
	flags.Float64Var(&o.smoothing, "smoothing", -1, "pretraining label smoothing (-1: the recipe's)")
	flags.Float64Var(&o.cosineScale, "cosine-scale", 0, "pretrain with a cosine classifier, logits this number times the cosine to each class (0: the recipe's: a linear classifier in oneshot, 16 in oneshot-long)")
	flags.IntVar(&o.metricEpochs, "metric-epochs", 0, "metric learning epochs of a recipe that learns a metric, such as oneshot-triplet (0: the recipe's)")
	flags.IntVar(&o.metricSteps, "metric-steps", 0, "metric learning steps per epoch (0: the recipe's)")
	flags.StringVar(&o.metricLoss, "metric-loss", "", "metric learning loss: triplet-hard, triplet-all or contrastive (\"\": the recipe's)")
	flags.Float64Var(&o.metricMargin, "metric-margin", 0, "metric learning margin (0: the recipe's, or the default of another -metric-loss: 0.2 for the triplet losses, 1 for contrastive)")
	flags.BoolVar(&o.noRotations, "no-rotations", false, "pretrain without quarter turns as extra classes")
	flags.BoolVar(&o.noAugment, "no-augment", false, "train without affine distortions")
	flags.BoolVar(&o.invert, "invert", false, "read images inverted (each value v as 1 - v): Omniglot's black ink on white as white on black")
	flags.StringVar(&o.norm, "norm", "", "input normalisation: imagenet, caffe or unit (\"\": the recipe's); unit with -invert puts the background at 0")
	flags.StringVar(&o.reliability, "reliability", "", "write the reliability diagram of the runs' pairs to this PNG file (default: runs-reliability.png in -out after training; none with -model)")
	flags.IntVar(&o.tta, "tta", 0, "test-time augmentation of the one-shot tasks: embed each image as the mean of its embedding and those of N-1 copies distorted by the training distortions (Koch et al.'s ranges), the same N-1 distortions for every image, drawn from -seed; 0 or 1: off. The runs' pairs keep the model's own (calibrated) scores")
	flags.BoolVar(&o.ttaTurns, "tta-turns", false, "test-time augmentation of the one-shot tasks: also embed each image turned by one, two and three quarter turns (each with -tta's copies) and score a pair by the mean of its four turns' distances, turn against turn; for models pretrained with quarter turns as classes (the oneshot recipes). The runs' pairs keep the model's own scores")
	flags.StringVar(&o.ensemble, "ensemble", "", "with -model: comma-separated model files of other epochs of the same training run (such as its pretrain-last.safetensors, the last pretraining epoch) whose encoders join -model's for the one-shot tasks: each image is embedded by every encoder (with -tta and -tta-turns) and a pair is scored by -model's head on the mean of their distances. The runs' pairs keep the model's own scores")
	flags.BoolVar(&o.heldout, "heldout", false, "with -model: evaluate on 1,000 20-way tasks drawn (from -seed) from the background images that -recipe held out for validation when trained with -seed, instead of the official runs: to choose evaluation settings such as -tta without touching the test runs")
	flags.BoolVar(&o.force, "force", false, "start afresh in a -out that holds a training run, finished or not, replacing its files")
	flags.BoolVar(&o.resume, "resume", false, "continue the interrupted training run in -out, given the flags it was started with; it ends as an uninterrupted run would")
	flags.Usage = func() {
		fmt.Fprint(stderr, `usage: oneshot [-model M] [-runs PATH] [-json] [training flags]

Runs Omniglot's 20 official 20-way one-shot classification runs (Lake et al.
2015) with a Siamese model: each test image is compared with the run's 20
training images and classified as the one scoring highest. Prints each run's
error rate and the average as Lake's script does, then the mean accuracy.
For reference: raw-pixel nearest neighbour makes 81.0% error, the modified
Hausdorff distance 38.8%, Koch et al.'s Siamese network 8%.

Without -model, a model is first trained by -recipe on -background. An
interrupted run (Ctrl-C, a crash) continues with the same command and
-resume, losing at most one epoch of pretraining.

Flags:
`)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "oneshot: unexpected argument %q\n", flags.Arg(0))
		flags.Usage()
		return 2
	}
	if o.tta < 0 {
		fmt.Fprintln(stderr, "oneshot: -tta must not be negative (0: off)")
		return 2
	}
	if o.heldout && o.model == "" {
		fmt.Fprintln(stderr, "oneshot: -heldout evaluates a trained model: give it with -model")
		return 2
	}
	if o.ensemble != "" && o.model == "" {
		fmt.Fprintln(stderr, "oneshot: -ensemble joins other epochs of a trained model's run: give the model with -model")
		return 2
	}
	if o.pretrainEpochs < 0 || o.pretrainSteps < 0 || o.pairEpochs < 0 || o.metricEpochs < 0 || o.metricSteps < 0 || !(o.metricMargin >= 0) || o.size < 0 || !(o.lr >= 0) || o.smoothing < 0 && o.smoothing != -1 {
		fmt.Fprintln(stderr, "oneshot: -pretrain-epochs, -pretrain-steps, -pair-epochs, -metric-epochs, -metric-steps, -metric-margin, -size, -lr and -smoothing must not be negative (0 and -smoothing -1: the recipe's)")
		return 2
	}
	if o.force && (o.resume || o.model != "") {
		fmt.Fprintln(stderr, "oneshot: -force starts a training run afresh; it does not go with -resume or -model")
		return 2
	}
	if o.resume && o.model != "" {
		fmt.Fprintln(stderr, "oneshot: -resume continues a training run; it does not go with -model")
		return 2
	}
	prec, err := resnet.ParsePrecision(o.precision)
	if err != nil {
		fmt.Fprintln(stderr, "oneshot: -precision:", err)
		return 2
	}
	// before any training: a precision that cannot run here stops now
	if err := resnet.PrecisionAvailable(prec); err != nil {
		fmt.Fprintln(stderr, "oneshot: -precision:", err)
		return 1
	}
	o.args = args
	if o.members, err = loadEnsemble(o.ensemble); err != nil {
		return fail(stderr, err)
	}
	if o.heldout {
		return o.evalHeldout(stdout, stderr)
	}
	if _, err := os.Stat(o.runs); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		hint := ""
		if o.runs == defaultRuns {
			hint = " (the default, relative to the working directory: run from the repository's root with ../shared/omniglot beside it)"
		}
		fmt.Fprintf(stderr, "oneshot: Omniglot runs %s: %v%s; pass -runs with the all_runs folder or all_runs.zip of github.com/brendenlake/omniglot\n", o.runs, err, hint)
		return 1
	}
	runs, err := eval.LoadOmniglotRuns(o.runs)
	if err != nil {
		return fail(stderr, err)
	}
	var (
		m       *siamese.Model
		trained *trainedInfo
	)
	if o.model != "" {
		if m, err = modelfile.Load(o.model); err != nil {
			return fail(stderr, err)
		}
	} else {
		var rc int
		if m, trained, rc = o.train(stderr); rc != 0 {
			return rc
		}
	}
	var vs *vsFP32
	var ref *recorder
	if o.vsFP32 && prec != resnet.FP32 {
		s, err := o.scorer(m)
		if err != nil {
			return fail(stderr, err)
		}
		ref = &recorder{Scorer: s}
		r, err := eval.EvaluateRuns(ref, runs)
		if err != nil {
			return fail(stderr, err)
		}
		vs = &vsFP32{MeanAccuracy: r.MeanAccuracy}
	}
	for _, e := range append([]*siamese.Model{m}, o.members...) {
		if err := e.SetPrecision(prec); err != nil {
			return fail(stderr, err)
		}
	}
	s, err := o.scorer(m)
	if err != nil {
		return fail(stderr, err)
	}
	rec := &recorder{Scorer: s}
	res, err := eval.EvaluateRuns(rec, runs)
	if err != nil {
		return fail(stderr, err)
	}
	if vs != nil {
		if err := vs.compare(rec.embs, ref.embs); err != nil {
			return fail(stderr, err)
		}
	}
	model := o.model
	if trained != nil {
		model = trained.Model
		if o.reliability == "" {
			o.reliability = filepath.Join(o.out, "runs-reliability.png")
		}
	}
	// The pairs are scored by the model alone, -tta or not: its head was
	// calibrated on plain embeddings, and means of distorted copies score
	// higher (README: Omniglot).
	pairs, err := runPairs(m, runs, o.reliability)
	if err != nil {
		return fail(stderr, err)
	}
	if o.asJSON {
		out := result{Model: model, Runs: o.runs, Precision: prec.String(), TTA: max(o.tta, 1), TTATurns: o.ttaTurns, Ensemble: ensembleFiles(o.ensemble), VsFP32: vs, MeanAccuracy: res.MeanAccuracy, MeanErrorRate: res.MeanErrorRate, Training: trained, Pairs: pairs}
		for _, r := range res.Runs {
			correct := 0
			for _, c := range r.Correct {
				if c {
					correct++
				}
			}
			out.PerRun = append(out.PerRun, runResult{Name: r.Name, Tasks: len(r.Correct), Correct: correct, Accuracy: r.Accuracy, ErrorRate: r.ErrorRate})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	fmt.Fprint(stdout, res.String())
	fmt.Fprintf(stdout, "mean accuracy %.1f%% (%d runs)\n", 100*res.MeanAccuracy, len(res.Runs))
	if o.tta > 1 || o.ttaTurns {
		fmt.Fprintf(stdout, "test-time augmentation: %s; the pairs below are the model's own scores\n", ttaWords(o.tta, o.ttaTurns))
	}
	if len(o.members) > 0 {
		fmt.Fprintf(stdout, "ensemble: %s; the pairs below are the model's own scores\n", ensembleWords(o.ensemble))
	}
	if prec != resnet.FP32 {
		fmt.Fprintf(stdout, "precision %s: the encoder ran in bfloat16\n", prec)
	}
	if vs != nil {
		fmt.Fprintf(stdout, "fp32 mean accuracy %.1f%%: %s minus fp32 %+.2f points\n", 100*vs.MeanAccuracy, prec, 100*(res.MeanAccuracy-vs.MeanAccuracy))
		fmt.Fprintf(stdout, "%s embeddings against fp32 over %d images: max relative error %.3g, median %.3g, min cosine %.6f\n",
			prec, vs.Images, vs.MaxRelError, vs.MedianRelError, vs.MinCosine)
	}
	fmt.Fprintf(stdout, "scores of the runs' pairs (%d same, %d different): AUC %.4f, ECE %.4f; at the saved threshold %.4f accuracy %.1f%% (same %.1f%%, different %.1f%%)\n",
		pairs.Same, pairs.Different, pairs.AUC, pairs.ECE, pairs.Threshold, 100*pairs.Accuracy, 100*pairs.SameAccuracy, 100*pairs.DifferentAccuracy)
	if pairs.Reliability != "" {
		fmt.Fprintf(stdout, "reliability diagram: %s\n", pairs.Reliability)
	}
	if trained != nil {
		fmt.Fprintf(stdout, "model %s: recipe %s, trained in %s (%d images pretraining, %d metric learning, %d pairs)\n",
			trained.Model, trained.Recipe, time.Duration(trained.Seconds*float64(time.Second)).Round(time.Second), trained.PretrainImages, trained.MetricImages, trained.Pairs)
		if r := trained.Retrieval; r != nil {
			fmt.Fprintf(stdout, "retrieval on %d held-out background images: %s\n", r.Queries+r.Skipped, r)
		}
	}
	return 0
}

// runPairs scores the runs' balanced pairs (eval.RunPairs) with m: AUC,
// calibration error and accuracy at the saved threshold; with a path, it
// writes their reliability diagram there.
func runPairs(m *siamese.Model, runs []eval.Run, path string) (*pairResult, error) {
	scores, labels, err := eval.RunPairs(train.OneShotScorer(m), runs)
	if err != nil {
		return nil, err
	}
	r := &pairResult{Threshold: m.Threshold()}
	var right, sameRight, diffRight int
	for i, sc := range scores {
		same := labels[i] == 1
		ok := (sc >= r.Threshold) == same
		if same {
			r.Same++
		} else {
			r.Different++
		}
		if ok {
			right++
			if same {
				sameRight++
			} else {
				diffRight++
			}
		}
	}
	r.Accuracy = float64(right) / float64(len(scores))
	r.SameAccuracy = float64(sameRight) / float64(max(r.Same, 1))
	r.DifferentAccuracy = float64(diffRight) / float64(max(r.Different, 1))
	if r.AUC, err = eval.AUC(scores, labels); err != nil {
		return nil, err
	}
	if r.ECE, err = eval.ECE(scores, labels, train.CalibrationBins); err != nil {
		return nil, err
	}
	if path != "" {
		bins, err := eval.Reliability(scores, labels, train.CalibrationBins)
		if err != nil {
			return nil, err
		}
		if err := eval.PlotReliability(path, map[string][]eval.Bin{"official runs' pairs": bins}); err != nil {
			return nil, err
		}
		r.Reliability = path
	}
	return r, nil
}

// trainedInfo describes the training run of the -json output.
type trainedInfo struct {
	Recipe         string  `json:"recipe"`
	Model          string  `json:"model"`
	Seconds        float64 `json:"seconds"`
	PretrainImages uint64  `json:"pretrain_images"`
	MetricImages   uint64  `json:"metric_images,omitempty"`
	Pairs          uint64  `json:"pairs"`
	TrainClasses   int     `json:"train_classes"`
	ValClasses     int     `json:"val_classes"`
	BestValOneShot float64 `json:"best_val_oneshot,omitempty"`
	// Retrieval is measured on the held-out background images.
	Retrieval *eval.Retrieval `json:"retrieval,omitempty"`
}

// train builds the recipe with the flags' overrides and runs it.
func (o *options) train(stderr io.Writer) (*siamese.Model, *trainedInfo, int) {
	r, err := train.Preset(o.recipe)
	if err != nil {
		fmt.Fprintln(stderr, "oneshot:", err)
		return nil, nil, 2
	}
	ov := train.Overrides{
		Budget: train.Budget{PretrainEpochs: o.pretrainEpochs, PretrainSteps: o.pretrainSteps, PairEpochs: o.pairEpochs},
		Size:   o.size, Invert: o.invert, NoAugment: o.noAugment, NoRotations: o.noRotations,
		LearningRate: o.lr, CosineScale: o.cosineScale, MetricMargin: o.metricMargin,
	}
	ov.Budget.MetricEpochs, ov.Budget.MetricSteps = o.metricEpochs, o.metricSteps
	if r.Metric == nil && (o.metricEpochs > 0 || o.metricSteps > 0 || o.metricLoss != "" || o.metricMargin > 0) {
		fmt.Fprintf(stderr, "oneshot: -metric-*: recipe %q has no metric learning stage (oneshot-triplet has)\n", r.Name)
		return nil, nil, 2
	}
	if o.metricLoss != "" {
		if ov.MetricLoss, err = train.ParseEmbeddingLoss(o.metricLoss); err != nil {
			fmt.Fprintln(stderr, "oneshot: -metric-loss:", strings.TrimPrefix(err.Error(), "train: "))
			return nil, nil, 2
		}
	}
	if o.norm != "" {
		n, err := preprocess.ParseNormalization(o.norm)
		if err != nil {
			fmt.Fprintln(stderr, "oneshot: -norm:", err)
			return nil, nil, 2
		}
		ov.Norm = &n
	}
	if o.smoothing >= 0 {
		ov.LabelSmoothing = &o.smoothing
	}
	r = r.With(ov)
	if err := r.Validate(); err != nil {
		return nil, nil, fail(stderr, err)
	}
	best := filepath.Join(o.out, train.BestModel)
	if _, err := os.Stat(best); err == nil && !o.resume && !o.force {
		fmt.Fprintf(stderr, "oneshot: %s exists: evaluate it with -model %s, choose another -out, or give -force to replace the run\n", best, best)
		return nil, nil, 1
	}
	if _, err := os.Stat(filepath.Join(o.out, train.RunRecord)); err == nil && !o.resume && !o.force {
		fmt.Fprintf(stderr, "oneshot: %s holds an unfinished run: continue it with %s, choose another -out, or give -force to start afresh\n", o.out, o.resumeCommand())
		return nil, nil, 1
	}
	ds, rc := o.loadBackground(stderr)
	if rc != 0 {
		return nil, nil, rc
	}
	if o.force {
		// Without its record, train.Fit starts a new run in -out.
		if err := os.Remove(filepath.Join(o.out, train.RunRecord)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fail(stderr, err)
		}
	}
	fmt.Fprintf(stderr, "training by recipe %q on %d images of %d classes (%s); writing to %s\n", r.Name, ds.Len(), ds.NumClasses(), o.background, o.out)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	m, rep, err := train.Fit(ctx, r, train.Data{Images: ds}, train.FitOptions{Dir: o.out, Progress: stderr, Seed: o.seed, Resume: o.resume})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "oneshot: interrupted; checkpoint written to %s; continue with: %s\n", o.out, o.resumeCommand())
			return nil, nil, 130
		}
		return nil, nil, fail(stderr, err)
	}
	info := &trainedInfo{Recipe: r.Name, Model: best, Seconds: time.Since(start).Seconds(), TrainClasses: rep.TrainClasses, ValClasses: rep.ValClasses, Retrieval: rep.Retrieval}
	if n := len(rep.Pretrain); n > 0 {
		info.PretrainImages = rep.Pretrain[n-1].Images
		info.BestValOneShot = bestOf(info.BestValOneShot, rep.Pretrain)
	}
	if n := len(rep.Metric); n > 0 {
		info.MetricImages = rep.Metric[n-1].Images
		info.BestValOneShot = bestOf(info.BestValOneShot, rep.Metric)
	}
	if n := len(rep.Pairs); n > 0 {
		info.Pairs = rep.Pairs[n-1].Pairs
	}
	return m, info, 0
}

// loadBackground reads -background's Omniglot folders or zips as one
// dataset, merged by class; on failure it prints why and returns the exit
// code.
func (o *options) loadBackground(stderr io.Writer) (data.Dataset, int) {
	var parts []data.Dataset
	for _, p := range strings.Split(o.background, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		ds, _, err := data.Omniglot(p)
		if err != nil {
			hint := ""
			if o.background == defaultBackground {
				hint = " (the default -background, relative to the working directory: run from the repository's root with ../shared/omniglot beside it)"
			}
			fmt.Fprintf(stderr, "oneshot: %s%s\n", strings.ReplaceAll(err.Error(), "\n", "; "), hint)
			return nil, 1
		}
		parts = append(parts, ds)
	}
	if len(parts) == 0 {
		fmt.Fprintln(stderr, "oneshot: -background names no data")
		return nil, 2
	}
	return data.NewUnion(parts...), 0
}

// scorer is m's eval.Scorer, with -tta's test-time augmentation.
func (o *options) scorer(m *siamese.Model) (eval.Scorer, error) {
	return train.TTA{Copies: o.tta, Augment: data.KochAugment(), QuarterTurns: o.ttaTurns, Seed: o.seed, Ensemble: o.members}.Scorer(m)
}

// ensembleFiles splits -ensemble's comma-separated list.
func ensembleFiles(list string) []string {
	var files []string
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	return files
}

// loadEnsemble loads -ensemble's models.
func loadEnsemble(list string) ([]*siamese.Model, error) {
	var ms []*siamese.Model
	for _, f := range ensembleFiles(list) {
		m, err := modelfile.Load(f)
		if err != nil {
			return nil, fmt.Errorf("-ensemble: %w", err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// ensembleWords describes -ensemble.
func ensembleWords(list string) string {
	return fmt.Sprintf("-model's encoder and %s, scored by -model's head on the mean distance", strings.Join(ensembleFiles(list), ", "))
}

// ttaWords describes -tta and -tta-turns.
func ttaWords(copies int, turns bool) string {
	switch {
	case copies > 1 && turns:
		return fmt.Sprintf("each image and each of its quarter turns the mean of %d embeddings (itself and %d distorted copies), compared turn by turn", copies, copies-1)
	case copies > 1:
		return fmt.Sprintf("each image the mean of %d embeddings (itself and %d distorted copies)", copies, copies-1)
	case turns:
		return "one embedding per image and per quarter turn, compared turn by turn"
	}
	return "one embedding per image"
}

// heldoutEpisodes is the number of 20-way episodes -heldout draws: 1,000
// tasks.
const heldoutEpisodes = 50

// evalHeldout runs -heldout: -model on 20-way tasks (fewer ways when
// fewer classes can pair) from the background images that -recipe holds
// out for validation with -seed.
func (o *options) evalHeldout(stdout, stderr io.Writer) int {
	r, err := train.Preset(o.recipe)
	if err != nil {
		fmt.Fprintln(stderr, "oneshot:", err)
		return 2
	}
	m, err := modelfile.Load(o.model)
	if err != nil {
		return fail(stderr, err)
	}
	ds, rc := o.loadBackground(stderr)
	if rc != 0 {
		return rc
	}
	_, valIdx, err := r.Split(ds, o.seed)
	if err != nil {
		return fail(stderr, err)
	}
	// 20-way, or fewer ways when fewer held-out classes have two images
	// (as the recipe's own validation).
	ways := min(20, data.CountPairableClasses(ds, valIdx))
	if ways < 2 {
		return fail(stderr, fmt.Errorf("-heldout: %d held-out classes with two images or more, want 2", ways))
	}
	tasks, err := eval.Episodes(ds, valIdx, ways, heldoutEpisodes, o.seed)
	if err != nil {
		return fail(stderr, err)
	}
	s, err := o.scorer(m)
	if err != nil {
		return fail(stderr, err)
	}
	res, err := eval.OneShot(s, tasks)
	if err != nil {
		return fail(stderr, err)
	}
	h := heldoutResult{Model: o.model, Recipe: r.Name, Seed: o.seed, TTA: max(o.tta, 1), TTATurns: o.ttaTurns, Ensemble: ensembleFiles(o.ensemble), Ways: ways, Images: len(valIdx),
		Classes: data.CountClasses(ds, valIdx), Tasks: len(tasks), Accuracy: res.Accuracy}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(h); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	words := ttaWords(h.TTA, h.TTATurns)
	if len(o.members) > 0 {
		words += "; ensemble: " + ensembleWords(o.ensemble)
	}
	fmt.Fprintf(stdout, "held-out background images (recipe %s's validation for seed %d: %d images of %d classes), %d %d-way tasks, %s: accuracy %.1f%%\n",
		h.Recipe, h.Seed, h.Images, h.Classes, h.Tasks, h.Ways, words, 100*h.Accuracy)
	return 0
}

// heldoutResult is the -heldout -json output.
type heldoutResult struct {
	Model    string   `json:"model"`
	Recipe   string   `json:"recipe"`
	Seed     uint64   `json:"seed"`
	TTA      int      `json:"tta"`
	TTATurns bool     `json:"tta_turns"`
	Ensemble []string `json:"ensemble,omitempty"`
	Ways     int      `json:"ways"`
	Images   int      `json:"images"`
	Classes  int      `json:"classes"`
	Tasks    int      `json:"tasks"`
	Accuracy float64  `json:"accuracy"`
}

// bestOf is the larger of acc and the best validation accuracy of a
// stage's epochs, those without validation (NaN) left out.
func bestOf(acc float64, h []train.PretrainEpoch) float64 {
	if b := train.BestOneShot(h); b > acc {
		return b
	}
	return acc
}

// resumeCommand is the command line that continues this run.
func (o *options) resumeCommand() string {
	words := append([]string{"oneshot"}, o.args...)
	if !o.resume {
		words = append(words, "-resume")
	}
	return shell.Join(words...)
}

// fail prints err on one line, prefixed "oneshot: ", and returns 1.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "oneshot:", strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; "))
	return 1
}

// recorder is a Scorer that keeps every embedding it makes, in order.
type recorder struct {
	eval.Scorer
	embs [][]float32
}

func (r *recorder) Embed(imgs []image.Image) ([][]float32, error) {
	es, err := r.Scorer.Embed(imgs)
	r.embs = append(r.embs, es...)
	return es, err
}

// vsFP32 compares an evaluation in reduced precision with float32's: the
// float32 accuracy, and over every embedding the runs made, the largest
// and the median relative error (max |e - f| / max |f| per image) and the
// smallest cosine similarity.
type vsFP32 struct {
	MeanAccuracy   float64 `json:"mean_accuracy"`
	Images         int     `json:"images"`
	MaxRelError    float64 `json:"max_rel_error"`
	MedianRelError float64 `json:"median_rel_error"`
	MinCosine      float64 `json:"min_cosine"`
}

// compare fills v from the embeddings got and their float32 ones, made
// for the same images in the same order.
func (v *vsFP32) compare(got, want [][]float32) error {
	if len(got) != len(want) || len(got) == 0 {
		return fmt.Errorf("%d embeddings against %d in fp32", len(got), len(want))
	}
	rels := make([]float64, len(got))
	v.Images, v.MinCosine = len(got), 1
	for i, g := range got {
		w := want[i]
		if len(g) != len(w) {
			return fmt.Errorf("embedding %d: %d values against %d in fp32", i, len(g), len(w))
		}
		var d, s, dot, gg, ww float64
		for k := range w {
			a, b := float64(g[k]), float64(w[k])
			d, s = max(d, math.Abs(a-b)), max(s, math.Abs(b))
			dot, gg, ww = dot+a*b, gg+a*a, ww+b*b
		}
		if s > 0 {
			rels[i] = d / s
		}
		if gg > 0 && ww > 0 {
			v.MinCosine = min(v.MinCosine, dot/math.Sqrt(gg*ww))
		}
	}
	slices.Sort(rels)
	v.MaxRelError, v.MedianRelError = rels[len(rels)-1], rels[len(rels)/2]
	return nil
}
