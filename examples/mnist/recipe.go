package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/train"
)

// runRecipe trains by a preset recipe on the training set, then scores the
// fixed test pairs and 10-way one-shot tasks drawn from the test set.
func runRecipe(ctx context.Context, name string, budget train.Budget, dir string, fashion bool, testPairs int, seed uint64, out string, workers int, resume bool, stdout, stderr io.Writer) int {
	r, err := train.Preset(name)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 2
	}
	r = r.WithBudget(budget)
	trainSet, testSet, err := load(dir, fashion)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	testList, val, err := fixedTestPairs(testSet, testPairs, seed)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	fmt.Fprintf(stdout, "recipe %s: %s\n", r.Name, train.PresetDoc(r.Name))
	start := time.Now()
	m, rep, err := train.Fit(ctx, r, train.Data{Images: trainSet}, train.FitOptions{Dir: out, Progress: stderr, Workers: workers, Seed: seed, Resume: resume})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "mnist: interrupted; checkpoint written to %s; continue with the same command and -resume\n", out)
			return 1
		}
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	elapsed := time.Since(start)
	logits, labels, err := val.Logits(m)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	scores := make([]float64, len(logits))
	for i, z := range logits {
		scores[i] = numeric.Sigmoid(z)
	}
	acc, err1 := eval.Accuracy(scores, labels, m.Threshold())
	auc, err2 := eval.AUC(scores, labels)
	present := map[int]bool{}
	for i := range testSet.Len() {
		present[testSet.Class(i)] = true
	}
	ways := len(present)
	tasks, err3 := train.NewOneShotValidation(testSet, nil, ways, 100, seed+2)
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	oneShot, err := tasks.ModelAccuracy(m)
	if err != nil {
		fmt.Fprintln(stderr, "mnist:", err)
		return 1
	}
	var images uint64
	if n := len(rep.Pretrain); n > 0 {
		images = rep.Pretrain[n-1].Images
	}
	var pairs uint64
	if n := len(rep.Pairs); n > 0 {
		pairs = rep.Pairs[n-1].Pairs
	}
	fmt.Fprintf(stdout, "trained on %d classes (%d held out) in %s: %d images pretraining, %d pairs\n",
		rep.TrainClasses, rep.ValClasses, elapsed.Round(time.Second), images, pairs)
	fmt.Fprintf(stdout, "test pairs: accuracy %.2f%% at threshold %.3f, AUC %.4f; %d-way one-shot accuracy on the test set %.2f%% (%d tasks)\n",
		100*acc, m.Threshold(), auc, ways, 100*oneShot, tasks.Tasks())
	return showSamples(filepath.Join(out, "best.safetensors"), testSet, testList, stdout, stderr)
}
