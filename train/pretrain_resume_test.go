package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// stopAfter is a context whose Err reports cancellation from its n+1st
// call on: the training loops ask once per step, so it stops a run at a
// chosen step without timing.
type stopAfter struct {
	context.Context
	n     int64
	calls atomic.Int64
}

func newStopAfter(n int) *stopAfter { return &stopAfter{Context: context.Background(), n: int64(n)} }

func (c *stopAfter) Err() error {
	if c.calls.Add(1) > c.n {
		return context.Canceled
	}
	return nil
}

// hookedBatches calls onBatch before each batch.
type hookedBatches struct {
	ClassBatches
	onBatch func(step uint64)
}

func (h hookedBatches) Batch(step uint64, n int) (*tensor.Dense, []int, error) {
	h.onBatch(step)
	return h.ClassBatches.Batch(step, n)
}

// newResumable returns a fresh pretrainer of the setup TestPretrainResume
// interrupts, writing to dir, with onBatch (nil: none) called before each
// batch.
func newResumable(t *testing.T, ds data.Dataset, trainIdx, valIdx []int, dir string, onBatch func(uint64)) (*siamese.Model, *Pretrainer) {
	t.Helper()
	return newTinyPretrainer(t, ds, trainIdx, valIdx, PretrainConfig{Epochs: 3, StepsPerEpoch: 4, BatchSize: 8, Seed: 2, Dir: dir,
		Optimizer: Optimizer{LearningRate: 3e-3}, Schedule: Schedule{Kind: CosineSchedule, WarmupSteps: 3}, LabelSmoothing: 0.1}, onBatch)
}

// samePretrainHistory fails unless two logs agree in everything but the
// wall time.
func samePretrainHistory(t *testing.T, got, want []PretrainEpoch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d epochs logged, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		g.Seconds, w.Seconds = 0, 0
		if g != w {
			t.Errorf("epoch %d: %+v, want %+v", i+1, g, w)
		}
	}
}

// TestPretrainResume: a pretraining run cancelled in its second epoch, and
// one killed there (resumed from the checkpoint of its first epoch's end),
// both end, resumed, where the uninterrupted run does, bit for bit: the
// model, the log and the best epoch's file.
func TestPretrainResume(t *testing.T) {
	ds := memoryPatterns(t, 8, 6, 3)
	trainIdx, valIdx := data.SplitClasses(ds, 0.4, 1)
	whole := t.TempDir()
	want, p := newResumable(t, ds, trainIdx, valIdx, whole, nil)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLog := p.History()

	cut := t.TempDir()
	killed := filepath.Join(t.TempDir(), "killed.safetensors")
	_, p = newResumable(t, ds, trainIdx, valIdx, cut, func(step uint64) {
		if step == 5 { // what a kill in the second epoch leaves behind
			b, err := os.ReadFile(filepath.Join(cut, PretrainCheckpoint))
			if err == nil {
				err = os.WriteFile(killed, b, 0o644)
			}
			if err != nil {
				t.Error(err)
			}
		}
	})
	if err := p.Run(newStopAfter(6)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if p.Step() != 6 {
		t.Fatalf("cancelled after %d steps, want 6", p.Step())
	}

	for name, ckpt := range map[string]string{"cancelled": filepath.Join(cut, PretrainCheckpoint), "killed": killed} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			m, p := newResumable(t, ds, trainIdx, valIdx, dir, nil)
			if err := p.Resume(ckpt); err != nil {
				t.Fatal(err)
			}
			if want := map[string]uint64{"cancelled": 6, "killed": 4}[name]; p.Step() != want {
				t.Errorf("resumed at step %d, want %d", p.Step(), want)
			}
			if err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			sameParams(t, m, want)
			samePretrainHistory(t, p.History(), wantLog)
			best, err := siamese.Load(filepath.Join(dir, "pretrain.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			wantBest, err := siamese.Load(filepath.Join(whole, "pretrain.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			sameParams(t, best, wantBest)
		})
	}

	// The best epoch so far comes back too: a resumed run stopped at once
	// leaves the model at the interrupted run's best (its first epoch).
	m, p := newResumable(t, ds, trainIdx, valIdx, t.TempDir(), nil)
	if err := p.Resume(filepath.Join(cut, PretrainCheckpoint)); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(newStopAfter(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v", err)
	}
	first, err := siamese.Load(filepath.Join(cut, "pretrain.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, m, first)
}

// TestPretrainResumeRefuses: a checkpoint of other settings, a model file
// that is not a checkpoint and a missing file are errors naming the
// problem, and leave the pretrainer untouched.
func TestPretrainResumeRefuses(t *testing.T) {
	ds := memoryPatterns(t, 8, 6, 3)
	trainIdx, valIdx := data.SplitClasses(ds, 0.4, 1)
	dir := t.TempDir()
	_, p := newResumable(t, ds, trainIdx, valIdx, dir, nil)
	if err := p.Run(newStopAfter(5)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	ckpt := filepath.Join(dir, PretrainCheckpoint)

	m, other := newResumable(t, ds, trainIdx, valIdx, t.TempDir(), nil)
	other.cfg.LabelSmoothing = 0.2
	before := m.Network().Params()[0].Float32s()[0]
	for _, c := range []struct{ path, want string }{
		{ckpt, "pretraining settings"},
		{filepath.Join(dir, "pretrain.safetensors"), "not a pretraining checkpoint"},
		{filepath.Join(dir, "missing.safetensors"), "missing.safetensors"},
	} {
		err := other.Resume(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "train: ") {
			t.Errorf("resume %s: %v, want an error saying %q", filepath.Base(c.path), err, c.want)
		}
	}
	if other.Step() != 0 || other.History() != nil || m.Network().Params()[0].Float32s()[0] != before {
		t.Error("a failed Resume changed the pretrainer")
	}

	// Another input size: the same tensors, another model.
	m2 := tinyCosine(t)
	cfg := m2.Config()
	cfg.Input.Size = 40
	m2, err := siamese.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := NewSampledImages(ds, trainIdx, m2.Config().Input, data.Augment{}, true, 1, 3)
	p2, err := NewPretrainer(m2, imgs, nil, p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Resume(ckpt); err == nil || !strings.Contains(err.Error(), "a model configured as") {
		t.Errorf("another input size: %v", err)
	}
}
