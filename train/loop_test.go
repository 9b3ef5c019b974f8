package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// stageRun is one stage of training set up for the loop's tests: its
// model, and Run and Step of its trainer.
type stageRun struct {
	m    *siamese.Model
	run  func() error
	step func() uint64
}

// stages make a small run of each stage writing to dir, calling onBatch
// before each batch and poisoning the input of step poison (-1: none)
// with NaN.
var stages = []struct {
	name, prefix string
	make         func(t *testing.T, dir string, onBatch func(uint64), poison int64) stageRun
}{
	{"pairs", "train: ", func(t *testing.T, dir string, onBatch func(uint64), poison int64) stageRun {
		p := newPatterns(t, 3, 4, 9)
		p.onBatch, p.nanAt = onBatch, poison
		m := smallModel(t)
		tr, err := New(m, p, newValPairs(p, 12), Config{Epochs: 3, StepsPerEpoch: 2, BatchSize: 4, Seed: 3, Optimizer: Optimizer{LearningRate: 1e-3}, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return stageRun{m, func() error { return tr.Run(context.Background()) }, tr.Step}
	}},
	{"pretraining", "train: pretraining: ", func(t *testing.T, dir string, onBatch func(uint64), poison int64) stageRun {
		ds := memoryPatterns(t, 8, 6, 3)
		trainIdx, valIdx := data.SplitClasses(ds, 0.4, 1)
		hook := func(step uint64) {
			if onBatch != nil {
				onBatch(step)
			}
		}
		m, p := newTinyPretrainer(t, ds, trainIdx, valIdx, PretrainConfig{Epochs: 3, StepsPerEpoch: 2, BatchSize: 8, Seed: 2, Dir: dir,
			Optimizer: Optimizer{LearningRate: 3e-3}}, hook)
		if poison >= 0 {
			p.data = poisonedImages{p.data, uint64(poison)}
		}
		return stageRun{m, func() error { return p.Run(context.Background()) }, p.Step}
	}},
}

// poisonedImages puts a NaN into the first image of one step's batch.
type poisonedImages struct {
	ClassBatches
	step uint64
}

func (p poisonedImages) Batch(step uint64, n int) (*tensor.Dense, []int, error) {
	x, c, err := p.ClassBatches.Batch(step, n)
	if err == nil && step == p.step {
		x.Data().([]float32)[1] = float32(math.NaN())
	}
	return x, c, err
}

// TestLoopPoisonedWeight: in both stages, a weight turned NaN before a
// step stops training at that step with an error naming the step and the
// weight, and the BatchNorm statistics the failed forward pass changed
// are put back, so the NaN stays where it was put.
func TestLoopPoisonedWeight(t *testing.T) {
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			var target *layers.Param
			var m *siamese.Model
			r := st.make(t, t.TempDir(), func(step uint64) {
				if step == 3 {
					target.Float32s()[5] = float32(math.NaN())
				}
			}, -1)
			m = r.m
			for _, p := range m.Network().Params() {
				if !p.State && strings.HasSuffix(p.Name, "weight") && len(p.Float32s()) > 5 {
					target = p
					break
				}
			}
			err := r.run()
			t.Log(err)
			if err == nil {
				t.Fatal("training with a NaN weight went on")
			}
			for _, w := range []string{st.prefix + "step 3: ", target.Name + "[5] is NaN"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if r.step() != 3 {
				t.Errorf("stopped after %d steps, want 3", r.step())
			}
			for _, p := range m.Network().Params() {
				if i := firstNonFinite(p.Float32s()); i >= 0 && (p.Name != target.Name || i != 5) {
					t.Fatalf("after the failed step %s[%d] is %v", p.Name, i, p.Float32s()[i])
				}
			}
		})
	}
}

// TestLoopNonFiniteInput: in both stages, a NaN input stops training
// before the step runs, naming the step; the model is left as the steps
// before made it.
func TestLoopNonFiniteInput(t *testing.T) {
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			var m *siamese.Model
			var before [][]float32
			r := st.make(t, "", func(step uint64) {
				if step == 2 {
					for _, p := range m.Network().Params() {
						before = append(before, slices.Clone(p.Float32s()))
					}
				}
			}, 2)
			m = r.m
			err := r.run()
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), st.prefix+"step 2: ") || !strings.Contains(err.Error(), "the step was not run") {
				t.Fatalf("got %v, want an error naming step 2 and the non-finite input", err)
			}
			if r.step() != 2 || before == nil {
				t.Fatalf("stopped after %d steps, want 2", r.step())
			}
			for i, p := range m.Network().Params() {
				if !slices.Equal(p.Float32s(), before[i]) {
					t.Fatalf("%s changed in the step that was not run", p.Name)
				}
			}
		})
	}
}

// TestLoopRemovesStaleTemps: in both stages, Run removes the temporary
// files that a run killed while writing a model, a log or a plot leaves
// behind, and nothing else.
func TestLoopRemovesStaleTemps(t *testing.T) {
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			dir := t.TempDir()
			stale := []string{".last.safetensors.tmp-123", ".log.csv.tmp-45", ".curves.png.tmp678", ".pretrain-last.safetensors.tmp-9"}
			keep := []string{"notes.txt", "tmp-keep.csv"}
			for _, f := range append(append([]string(nil), stale...), keep...) {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var seen []string
			r := st.make(t, dir, func(step uint64) {
				if step == 0 {
					for _, f := range stale {
						if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
							seen = append(seen, f)
						}
					}
				}
			}, -1)
			if err := r.run(); err != nil {
				t.Fatal(err)
			}
			if len(seen) > 0 {
				t.Errorf("left at the first step: %v", seen)
			}
			for _, f := range keep {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("after the run: %s", e.Name())
				}
			}
		})
	}
}
