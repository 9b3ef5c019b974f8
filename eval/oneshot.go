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
	scores, err := scoreTasks(s, tasks)
	if err != nil {
		return Result{}, err
	}
	r := Result{Predicted: make([]int, len(tasks)), Correct: make([]bool, len(tasks))}
	right := 0
	for i, t := range tasks {
		best, bestScore := -1, math.Inf(-1)
		for j, v := range scores[i] {
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

// scoreTasks checks the tasks, embeds their distinct images in one Embed
// call and returns each task's scores against its training images.
func scoreTasks(s Scorer, tasks []Task) ([][]float64, error) {
	if s == nil {
		return nil, errors.New("eval: nil Scorer")
	}
	if len(tasks) == 0 {
		return nil, errors.New("eval: no tasks")
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
			return nil, fmt.Errorf("eval: task %d: no test image", i)
		}
		if len(t.Train) == 0 {
			return nil, fmt.Errorf("eval: task %d: no training images", i)
		}
		if t.Answer < 0 || t.Answer >= len(t.Train) {
			return nil, fmt.Errorf("eval: task %d: answer %d outside [0, %d)", i, t.Answer, len(t.Train))
		}
		test[i] = index(t.Test)
		train[i] = make([]int, len(t.Train))
		for j, img := range t.Train {
			if isNil(img) {
				return nil, fmt.Errorf("eval: task %d: training image %d is nil", i, j)
			}
			train[i][j] = index(img)
		}
	}
	emb, err := s.Embed(imgs)
	if err != nil {
		return nil, fmt.Errorf("eval: embed: %w", trimPrefix(err))
	}
	if len(emb) != len(imgs) {
		return nil, fmt.Errorf("eval: embed: %d embeddings for %d images", len(emb), len(imgs))
	}
	scores := make([][]float64, len(tasks))
	for i := range tasks {
		scores[i] = make([]float64, len(train[i]))
		for j, k := range train[i] {
			v, err := s.Score(emb[test[i]], emb[k])
			if err != nil {
				return nil, fmt.Errorf("eval: task %d, training image %d: %w", i, j, trimPrefix(err))
			}
			if math.IsNaN(v) {
				return nil, fmt.Errorf("eval: task %d, training image %d: score is NaN", i, j)
			}
			scores[i][j] = v
		}
	}
	return scores, nil
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

// RunPairs turns one-shot runs into balanced verification pairs and scores
// them: for each task, its test image against the correct training image
// (label 1) and against one other training image (label 0), the
// (Answer+1+i mod (n-1))-th after the answer for the task's index i within
// its run, so that the different pairs spread over a run's classes
// without a random draw. Omniglot's 20 official runs give 400 same and 400
// different pairs from characters that training never saw, which measure
// whether scores are probabilities (ECE, a reliability diagram) on data no
// choice was made on. Each run's distinct images are embedded once; tasks
// with fewer than two training images are an error.
func RunPairs(s Scorer, runs []Run) (scores, labels []float64, err error) {
	if s == nil {
		return nil, nil, errors.New("eval: nil Scorer")
	}
	if len(runs) == 0 {
		return nil, nil, errors.New("eval: no runs")
	}
	for r, run := range runs {
		name := run.Name
		if name == "" {
			name = fmt.Sprintf("%d", r)
		}
		// One task per pair: the test image against a single candidate,
		// scored through OneShot's embedding and checks.
		var tasks []Task
		var lab []float64
		for i, t := range run.Tasks {
			n := len(t.Train)
			if n < 2 {
				return nil, nil, fmt.Errorf("eval: run %s: task %d: %d training images, want at least 2", name, i, n)
			}
			if t.Answer < 0 || t.Answer >= n {
				return nil, nil, fmt.Errorf("eval: run %s: task %d: answer %d outside [0, %d)", name, i, t.Answer, n)
			}
			other := (t.Answer + 1 + i%(n-1)) % n
			tasks = append(tasks,
				Task{Test: t.Test, Train: []image.Image{t.Train[t.Answer]}},
				Task{Test: t.Test, Train: []image.Image{t.Train[other]}})
			lab = append(lab, 1, 0)
		}
		sc, err := scoreTasks(s, tasks)
		if err != nil {
			return nil, nil, fmt.Errorf("eval: run %s: %w", name, trimPrefix(err))
		}
		for _, v := range sc {
			scores = append(scores, v[0])
		}
		labels = append(labels, lab...)
	}
	return scores, labels, nil
}
