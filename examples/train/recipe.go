package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/internal/modelfile"
	"github.com/gosiamese/gosiamese/internal/shell"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

// recipeFlags are the flags a fixed recipe takes; the others configure
// -recipe original.
var recipeFlags = map[string]bool{
	"folder": true, "omniglot": true, "mnist": true, "strict": true,
	"size": true, "channels": true, "val": true, "valpairs": true, "seed": true, "workers": true, "out": true,
	"recipe": true, "pretrain-epochs": true, "pretrain-steps": true, "pair-epochs": true, "resume": true, "force": true, "test": true,
	"metric-epochs": true, "metric-steps": true, "metric-loss": true, "metric-margin": true,
}

// runRecipe trains by a preset recipe of the package train.
func runRecipe(fs *flag.FlagSet, o *options, stdout, stderr io.Writer) int {
	r, err := train.Preset(o.recipe)
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return exitUsage
	}
	var wrong []string
	fs.Visit(func(f *flag.Flag) {
		if !recipeFlags[f.Name] {
			wrong = append(wrong, "-"+f.Name)
		}
	})
	sort.Strings(wrong)
	switch {
	case o.dataFlags() == 0: // -resume without them
		fmt.Fprintf(stderr, "train: -resume: recipe %q: give the flags the run was started with, its data flag (-folder, -omniglot or -mnist) among them\n", r.Name)
		return exitUsage
	case o.pairs != "":
		fmt.Fprintf(stderr, "train: recipe %q needs classes (-folder, -omniglot or -mnist); train on a pairs CSV with -recipe original\n", r.Name)
		return exitUsage
	case len(wrong) > 0:
		fmt.Fprintf(stderr, "train: %s: only with -recipe original (recipe %q fixes the model and its training: %s)\n", strings.Join(wrong, ", "), r.Name, train.PresetDoc(r.Name))
		return exitUsage
	case !(o.val > 0 && o.val < 1):
		fmt.Fprintf(stderr, "train: -val %g outside (0, 1)\n", o.val)
		return exitUsage
	case o.pretrainEpochs < 0 || o.pretrainSteps < 0 || o.pairEpochs < 0 || o.metricEpochs < 0 || o.metricSteps < 0 || !(o.metricMargin >= 0) || o.valPairs < 2:
		fmt.Fprintln(stderr, "train: -pretrain-epochs, -pretrain-steps, -pair-epochs, -metric-epochs, -metric-steps and -metric-margin must not be negative, -valpairs at least 2")
		return exitUsage
	case r.Metric == nil && (o.metricEpochs > 0 || o.metricSteps > 0 || o.metricLoss != "" || o.metricMargin > 0):
		fmt.Fprintf(stderr, "train: -metric-*: recipe %q has no metric learning stage (oneshot-triplet has)\n", r.Name)
		return exitUsage
	}
	loss, err := train.ParseEmbeddingLoss(o.metricLoss)
	if err != nil {
		fmt.Fprintln(stderr, "train: -metric-loss:", strings.TrimPrefix(err.Error(), "train: "))
		return exitUsage
	}
	if o.metricLoss == "" {
		loss = ""
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	ov := train.Overrides{
		Budget:   train.Budget{PretrainEpochs: o.pretrainEpochs, PretrainSteps: o.pretrainSteps, PairEpochs: o.pairEpochs, MetricEpochs: o.metricEpochs, MetricSteps: o.metricSteps},
		ValPairs: o.valPairs, MetricLoss: loss, MetricMargin: o.metricMargin,
	}
	if given["size"] {
		ov.Size = o.size
	}
	if given["channels"] {
		ov.Channels = o.channels
	}
	if given["val"] {
		ov.ValFraction = o.val
	}
	r = r.With(ov)
	if err := r.Validate(); err != nil {
		return fail(stderr, err)
	}
	resume := []string{"train"}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "resume" {
			resume = append(resume, "-"+f.Name+"="+f.Value.String())
		}
	})
	resume = append(resume, "-resume")
	best := filepath.Join(o.out, train.BestModel)
	if _, err := os.Stat(best); err == nil && !o.resume && !o.force {
		fmt.Fprintf(stderr, "train: %s exists: choose another -out, or give -force to replace the run\n", best)
		return exitFail
	}
	if _, err := os.Stat(filepath.Join(o.out, train.RunRecord)); err == nil && !o.resume && !o.force {
		fmt.Fprintf(stderr, "train: %s holds an unfinished run: continue it with %s, choose another -out, or give -force to start afresh\n", o.out, shell.Join(resume...))
		return exitFail
	}
	ld, err := o.load(stderr)
	if err != nil {
		return fail(stderr, err)
	}
	if o.force {
		if err := startAfresh(o.out); err != nil {
			return fail(stderr, err)
		}
	}
	fmt.Fprintf(stderr, "recipe %s: %s\ndata: %s; output in %s\n", r.Name, train.PresetDoc(r.Name), ld.desc, o.out)
	return fit(r, ld, o, nil, shell.Join(resume...), stdout, stderr)
}

// runOriginal trains by the recipe the model and training flags make: the
// original design by default.
func runOriginal(fs *flag.FlagSet, o *options, stdout, stderr io.Writer) int {
	if o.resume {
		if rc := restoreFlags(fs, o.out, stderr); rc != exitOK {
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
	if _, err := os.Stat(filepath.Join(o.out, train.RunRecord)); err == nil && !o.resume && !o.force {
		fmt.Fprintf(stderr, "train: %s holds a run: continue it with -resume, choose another -out, or give -force to start afresh\n", o.out)
		return exitFail
	}
	ld, err := o.load(stderr)
	if err != nil {
		return fail(stderr, err)
	}
	if o.force {
		if err := startAfresh(o.out); err != nil {
			return fail(stderr, err)
		}
	}
	r := train.Recipe{Name: "original", Model: mcfg, ValFraction: o.val, Pairs: tcfg, ValPairs: o.valPairs}
	if o.augment {
		r.Augment = data.KochAugment()
	}
	flags := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if !resumeFree[f.Name] {
			flags[f.Name] = f.Value.String()
		}
	})
	fj, _ := json.Marshal(flags)
	describe(stderr, r, ld.desc, o.out)
	info := map[string]string{infoFlags: string(fj), "data": ld.desc}
	return fit(r, ld, o, info, shell.Join("train", "-out", o.out, "-resume"), stdout, stderr)
}

// restoreFlags reads the flags the run in out was started with from its
// checkpoint and sets every flag not given on the command line to them. A
// flag given with another value is an error: a resumed run keeps its
// settings.
func restoreFlags(fs *flag.FlagSet, out string, stderr io.Writer) int {
	ckpt := filepath.Join(out, train.Checkpoint)
	if _, err := os.Stat(ckpt); err != nil {
		if _, rerr := os.Stat(filepath.Join(out, train.RunRecord)); rerr == nil {
			return exitOK // killed before its first checkpoint: Fit checks the flags against the record
		}
		fmt.Fprintf(stderr, "train: -resume: no checkpoint %s (%v); start the run without -resume\n", ckpt, unwrapPath(err))
		return exitFail
	}
	h, err := siamese.ReadHeader(ckpt)
	if err != nil {
		return fail(stderr, err)
	}
	js, ok := h.Info[infoFlags]
	if !ok {
		fmt.Fprintf(stderr, "train: %s does not record its flags; using the command line's\n", ckpt)
		return exitOK
	}
	var saved map[string]string
	if err := json.Unmarshal([]byte(js), &saved); err != nil {
		fmt.Fprintf(stderr, "train: %s: recorded flags: %v\n", ckpt, err)
		return exitFail
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(saved)) {
		f := fs.Lookup(name)
		switch {
		case f == nil || resumeFree[name]:
		case given[name] && f.Value.String() != saved[name]:
			fmt.Fprintf(stderr, "train: -resume: -%s %s differs from the run's -%s %s; a resumed run keeps the settings it was started with\n", name, f.Value.String(), name, saved[name])
			return exitUsage
		case !given[name]:
			if err := fs.Set(name, saved[name]); err != nil {
				fmt.Fprintf(stderr, "train: %s: recorded flag -%s %q: %v\n", ckpt, name, saved[name], err)
				return exitFail
			}
		}
	}
	return exitOK
}

// modelConfig checks the model flags and returns the configuration.
func (o *options) modelConfig(stderr io.Writer) (siamese.Config, int) {
	usage := func(format string, a ...any) (siamese.Config, int) {
		fmt.Fprintf(stderr, "train: "+format+"\n", a...)
		return siamese.Config{}, exitUsage
	}
	if o.dataFlags() != 1 {
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
	if o.weights != "" {
		if err := modelfile.CheckWeights(o.weights); err != nil {
			return usage("-weights: %v", err)
		}
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
	opt, err := train.ParseOptimizerKind(o.optimizer)
	if err != nil {
		return usage("-optimizer: %v", strings.TrimPrefix(err.Error(), "train: "))
	}
	sched, err := train.ParseScheduleKind(o.schedule)
	if err != nil {
		return usage("-schedule: %v", strings.TrimPrefix(err.Error(), "train: "))
	}
	cfg := train.Config{
		Epochs:    o.epochs,
		BatchSize: o.batch,
		Optimizer: train.Optimizer{Kind: opt, LearningRate: o.lr},
		Schedule:  train.Schedule{Kind: sched, WarmupSteps: o.warmup},
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

// describe prints the run's data, model and training.
func describe(w io.Writer, r train.Recipe, data, out string) {
	fmt.Fprintln(w, "data:", data)
	c := r.Model.WithDefaults()
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
	t := r.Pairs.WithDefaults()
	steps := "one pass over the training data in"
	if t.StepsPerEpoch > 0 {
		steps = strconv.Itoa(t.StepsPerEpoch)
	}
	fmt.Fprintf(w, "training: %d epochs x %s steps x %d pairs; %s, learning rate %g, %s schedule, %d warm-up steps; output in %s\n",
		t.Epochs, steps, t.BatchSize, t.Optimizer.Kind, t.Optimizer.LearningRate, t.Schedule.Kind, t.Schedule.WarmupSteps, out)
}
