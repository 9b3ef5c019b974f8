package eval

import (
	"errors"
	"fmt"
	"image"
	"math"
	"reflect"
	"strings"
)

// Scorer is what one-shot classification asks of a model: an embedding
// per image, and a score for two embeddings, higher meaning more alike.
// A score need not be a probability; a negated distance serves as well.
type Scorer interface {
	Embed(imgs []image.Image) ([][]float32, error)
	Score(a, b []float32) (float64, error)
}

// Task is one N-way one-shot classification trial: which of the Train
// images (one per class) shows the same thing as Test? Answer is the index
// in Train of the correct one.
type Task struct {
	Test   image.Image
	Train  []image.Image
	Answer int
}

// Result is the outcome of OneShot.
type Result struct {
	// Predicted[i] is the index in tasks[i].Train of the highest-scoring
	// image; Correct[i] reports whether it is tasks[i].Answer.
	Predicted []int
	Correct   []bool
	// Accuracy is the fraction of tasks answered correctly.
	Accuracy float64
}

// OneShot runs the tasks: for each, it scores Test against every Train
// image and predicts the index with the highest score. Ties go to the
// lowest index (as numpy's argmax/argmin in Lake's evaluation script).
//
// Every distinct image is embedded once, in one Embed call, and the pairs
// are scored with Score; images are the same when they are the same
// image.Image value (the same pointer), so training images shared between
// tasks cost one embedding. A NaN score is an error.
func OneShot(s Scorer, tasks []Task) (Result, error) {
	if s == nil {
		return Result{}, errors.New("eval: nil Scorer")
	}
	if len(tasks) == 0 {
		return Result{}, errors.New("eval: no tasks")
	}
	var imgs []image.Image
	seen := make(map[image.Image]int)
	index := func(img image.Image) int {
		// Only comparable values can be map keys; others are embedded
		// once per use.
		if reflect.ValueOf(img).Comparable() {
			if i, ok := seen[img]; ok {
				return i
			}
			seen[img] = len(imgs)
		}
		imgs = append(imgs, img)
		return len(imgs) - 1
	}
	test := make([]int, len(tasks))
	train := make([][]int, len(tasks))
	for i, t := range tasks {
		if isNil(t.Test) {
			return Result{}, fmt.Errorf("eval: task %d: no test image", i)
		}
		if len(t.Train) == 0 {
			return Result{}, fmt.Errorf("eval: task %d: no training images", i)
		}
		if t.Answer < 0 || t.Answer >= len(t.Train) {
			return Result{}, fmt.Errorf("eval: task %d: answer %d outside [0, %d)", i, t.Answer, len(t.Train))
		}
		test[i] = index(t.Test)
		train[i] = make([]int, len(t.Train))
		for j, img := range t.Train {
			if isNil(img) {
				return Result{}, fmt.Errorf("eval: task %d: training image %d is nil", i, j)
			}
			train[i][j] = index(img)
		}
	}
	emb, err := s.Embed(imgs)
	if err != nil {
		return Result{}, fmt.Errorf("eval: embed: %w", trimPrefix(err))
	}
	if len(emb) != len(imgs) {
		return Result{}, fmt.Errorf("eval: embed: %d embeddings for %d images", len(emb), len(imgs))
	}
	r := Result{Predicted: make([]int, len(tasks)), Correct: make([]bool, len(tasks))}
	right := 0
	for i, t := range tasks {
		best, bestScore := -1, math.Inf(-1)
		for j, k := range train[i] {
			v, err := s.Score(emb[test[i]], emb[k])
			if err != nil {
				return Result{}, fmt.Errorf("eval: task %d, training image %d: %w", i, j, trimPrefix(err))
			}
			if math.IsNaN(v) {
				return Result{}, fmt.Errorf("eval: task %d, training image %d: score is NaN", i, j)
			}
			if best < 0 || v > bestScore {
				best, bestScore = j, v
			}
		}
		r.Predicted[i] = best
		r.Correct[i] = best == t.Answer
		if r.Correct[i] {
			right++
		}
	}
	r.Accuracy = float64(right) / float64(len(tasks))
	return r, nil
}

// isNil reports whether img is nil or a nil pointer inside an interface.
func isNil(img image.Image) bool {
	if img == nil {
		return true
	}
	v := reflect.ValueOf(img)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func:
		return v.IsNil()
	}
	return false
}

// trimPrefix keeps error messages readable: "eval: embed: siamese: ..."
// stays as it is, but a Scorer's own "eval: " prefix is not doubled.
func trimPrefix(err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, "eval: ") {
		return prefixed{msg: strings.TrimPrefix(msg, "eval: "), err: err}
	}
	return err
}

type prefixed struct {
	msg string
	err error
}

func (p prefixed) Error() string { return p.msg }
func (p prefixed) Unwrap() error { return p.err }

// RunResult is the outcome of one run of EvaluateRuns.
type RunResult struct {
	Name string
	Result
	// ErrorRate is 1 - Accuracy.
	ErrorRate float64
}

// RunsResult is the outcome of EvaluateRuns: per run and the mean over
// runs, as Lake's Omniglot classification script reports them.
type RunsResult struct {
	Runs []RunResult
	// MeanAccuracy and MeanErrorRate average the runs' rates (each run
	// weighs the same, whatever its number of tasks).
	MeanAccuracy, MeanErrorRate float64
}

// String formats the result as Lake's script prints it: one line per run,
// " run 01 (error 45.0%)", then "average error 38.8%". Runs are numbered
// from 01 in order.
func (r RunsResult) String() string {
	var b strings.Builder
	for i, run := range r.Runs {
		fmt.Fprintf(&b, " run %02d (error %.1f%%)\n", i+1, 100*run.ErrorRate)
	}
	fmt.Fprintf(&b, "average error %.1f%%\n", 100*r.MeanErrorRate)
	return b.String()
}

// EvaluateRuns runs OneShot on each run's tasks (each run's distinct
// images are embedded once) and returns per-run accuracy and error rate
// and their means over runs.
func EvaluateRuns(s Scorer, runs []Run) (RunsResult, error) {
	if len(runs) == 0 {
		return RunsResult{}, errors.New("eval: no runs")
	}
	out := RunsResult{Runs: make([]RunResult, len(runs))}
	for i, run := range runs {
		r, err := OneShot(s, run.Tasks)
		if err != nil {
			name := run.Name
			if name == "" {
				name = fmt.Sprintf("%d", i)
			}
			return RunsResult{}, fmt.Errorf("eval: run %s: %w", name, trimPrefix(err))
		}
		out.Runs[i] = RunResult{Name: run.Name, Result: r, ErrorRate: 1 - r.Accuracy}
		out.MeanAccuracy += r.Accuracy
		out.MeanErrorRate += 1 - r.Accuracy
	}
	out.MeanAccuracy /= float64(len(runs))
	out.MeanErrorRate /= float64(len(runs))
	return out, nil
}
