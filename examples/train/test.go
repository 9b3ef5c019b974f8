package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

// maxTestPairs bounds the pairs -test scores: every pair of the folder's
// images up to this many, else this many balanced pairs drawn by -seed.
const maxTestPairs = 20000

// evaluate scores m on the class folder dir (-test), data no choice of the
// run was made on: verification over pairs (AUC, EER, calibration error,
// and accuracy at the model's saved threshold, for same and different
// pairs apart) and N-way one-shot tasks.
func evaluate(m *siamese.Model, dir string, seed uint64, stdout io.Writer) error {
	ds, _, err := data.Folder(dir, data.FolderOptions{})
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	var pairs []data.Pair
	if n := ds.Len(); n*(n-1)/2 <= maxTestPairs {
		for a := range n {
			for b := a + 1; b < n; b++ {
				label := float32(0)
				if ds.Class(a) == ds.Class(b) {
					label = 1
				}
				pairs = append(pairs, data.Pair{A: a, B: b, Label: label})
			}
		}
	} else if pairs, err = data.FixedPairs(ds, nil, maxTestPairs, seed); err != nil {
		return fmt.Errorf("test: %w", err)
	}
	val, err := train.NewPairValidation(ds, pairs)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	scores, labels, err := val.Scores(m)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	var same, diff []int
	for i, l := range labels {
		if l == 1 {
			same = append(same, i)
		} else {
			diff = append(diff, i)
		}
	}
	right := func(idx []int) float64 {
		n := 0
		for _, i := range idx {
			if (scores[i] >= m.Threshold()) == (labels[i] == 1) {
				n++
			}
		}
		return float64(n) / float64(max(len(idx), 1))
	}
	acc, err1 := eval.Accuracy(scores, labels, m.Threshold())
	auc, err2 := eval.AUC(scores, labels)
	eer, _, err3 := eval.EER(scores, labels)
	ece, err4 := eval.ECE(scores, labels, train.CalibrationBins)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("test: %w", err)
	}
	classes := data.CountClasses(ds, nil)
	fmt.Fprintf(stdout, "test %s: %d images of %d classes, %d pairs (%d same, %d different)\n", dir, ds.Len(), classes, len(pairs), len(same), len(diff))
	fmt.Fprintf(stdout, "test: AUC %.4f, EER %.2f%%, ECE %.4f; at the saved threshold %.4f accuracy %.2f%% (same pairs %.2f%%, different pairs %.2f%%)\n",
		auc, 100*eer, ece, m.Threshold(), 100*acc, 100*right(same), 100*right(diff))
	ways := min(20, classes)
	tasks, err := train.NewOneShotValidation(ds, nil, ways, max(10, (1000+ways-1)/ways), seed)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	oneShot, err := tasks.ModelAccuracy(m)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	fmt.Fprintf(stdout, "test: %d-way one-shot accuracy %.2f%% (%d tasks)\n", ways, 100*oneShot, tasks.Tasks())
	return nil
}
