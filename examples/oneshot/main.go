// Command oneshot measures a trained Siamese model on Omniglot's 20 official
// 20-way one-shot classification runs (Lake et al. 2015): in each task the
// model compares a test character with one drawing of each of 20
// characters never seen in training, and picks the highest score.
//
//	oneshot -model run/best.safetensors
//	oneshot -model run/best.safetensors -runs /data/omniglot/all_runs -json
//
// It prints, as Lake's demo_classification.py does, each run's error rate
// and their average, then the mean accuracy; with -json one JSON object.
// The runs are read from -runs: the all_runs folder or all_runs.zip of
// github.com/brendenlake/omniglot (by default ../shared/omniglot/all_runs.zip,
// the shared folder beside the repository, when run from the repository's
// root).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// defaultRuns is where the runs are looked for without -runs, relative to
// the working directory: the shared folder beside the repository's root.
const defaultRuns = "../shared/omniglot/all_runs.zip"

// result is the -json output.
type result struct {
	Model         string      `json:"model"`
	Runs          string      `json:"runs"`
	PerRun        []runResult `json:"per_run"`
	MeanAccuracy  float64     `json:"mean_accuracy"`
	MeanErrorRate float64     `json:"mean_error_rate"`
}

type runResult struct {
	Name      string  `json:"name"`
	Tasks     int     `json:"tasks"`
	Correct   int     `json:"correct"`
	Accuracy  float64 `json:"accuracy"`
	ErrorRate float64 `json:"error_rate"`
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("oneshot", flag.ContinueOnError)
	flags.SetOutput(stderr)
	modelPath := flags.String("model", "", "model file written by examples/train or siamese.Model.Save (required)")
	runsPath := flags.String("runs", defaultRuns, "Omniglot's one-shot runs: the all_runs folder or all_runs.zip (runNN/training, runNN/test, runNN/class_labels.txt) of github.com/brendenlake/omniglot; relative to the working directory")
	asJSON := flags.Bool("json", false, "print one JSON object (per-run and mean accuracy and error rate) instead of text")
	flags.Usage = func() {
		fmt.Fprint(stderr, `usage: oneshot -model M [-runs PATH] [-json]

Runs Omniglot's 20 official 20-way one-shot classification runs (Lake et al.
2015) with a Siamese model: each test image is compared with the run's 20
training images and classified as the one scoring highest. Prints each run's
error rate and the average as Lake's script does, then the mean accuracy.
For reference: raw-pixel nearest neighbour makes 81.0% error, the modified
Hausdorff distance 38.8%, Koch et al.'s Siamese network 8%.

Flags:
`)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *modelPath == "" || flags.NArg() > 0 {
		fmt.Fprintln(stderr, "oneshot: need -model and no arguments")
		flags.Usage()
		return 2
	}
	if _, err := os.Stat(*runsPath); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		hint := ""
		if *runsPath == defaultRuns {
			hint = " (the default, relative to the working directory: run from the repository's root with ../shared/omniglot beside it)"
		}
		fmt.Fprintf(stderr, "oneshot: Omniglot runs %s: %v%s; pass -runs with the all_runs folder or all_runs.zip of github.com/brendenlake/omniglot\n", *runsPath, err, hint)
		return 1
	}
	m, err := siamese.Load(*modelPath)
	if err != nil {
		return fail(stderr, err)
	}
	runs, err := eval.LoadOmniglotRuns(*runsPath)
	if err != nil {
		return fail(stderr, err)
	}
	res, err := eval.EvaluateRuns(m, runs)
	if err != nil {
		return fail(stderr, err)
	}
	if *asJSON {
		out := result{Model: *modelPath, Runs: *runsPath, MeanAccuracy: res.MeanAccuracy, MeanErrorRate: res.MeanErrorRate}
		for _, r := range res.Runs {
			correct := 0
			for _, c := range r.Correct {
				if c {
					correct++
				}
			}
			out.PerRun = append(out.PerRun, runResult{Name: r.Name, Tasks: len(r.Correct), Correct: correct, Accuracy: r.Accuracy, ErrorRate: r.ErrorRate})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	fmt.Fprint(stdout, res.String())
	fmt.Fprintf(stdout, "mean accuracy %.1f%% (%d runs)\n", 100*res.MeanAccuracy, len(res.Runs))
	return 0
}

// fail prints err on one line, prefixed "oneshot: ", and returns 1.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "oneshot:", strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; "))
	return 1
}
