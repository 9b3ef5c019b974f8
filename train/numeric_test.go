package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// poisonedInput puts v into input "a" or "b" of pair pair, element elem,
// of step's batch.
type poisonedInput struct {
	Batches
	step       uint64
	input      string
	pair, elem int
	v          float32
}

func (p poisonedInput) Batch(step uint64, n int) (a, b *tensor.Dense, labels []float32, err error) {
	a, b, labels, err = p.Batches.Batch(step, n)
	if err == nil && step == p.step {
		x := map[string]*tensor.Dense{"a": a, "b": b}[p.input]
		d := x.Data().([]float32)
		d[p.pair*len(d)/n+p.elem] = p.v
	}
	return a, b, labels, err
}

// TestNonFiniteInputNamed: a NaN or infinite input value stops training
// before the step's forward pass, with an error naming the step, the input
// and the pair; the model is then exactly the model after the steps
// before.
func TestNonFiniteInputNamed(t *testing.T) {
	data := newPatterns(t, 2, 3, 4)
	cfg := Config{Epochs: 1, StepsPerEpoch: 5, BatchSize: 4, Optimizer: Optimizer{LearningRate: 1e-3}, Seed: 2}
	for _, c := range []poisonedInput{
		{step: 2, input: "a", pair: 1, elem: 100, v: float32(math.NaN())},
		{step: 3, input: "b", pair: 3, elem: 0, v: float32(math.Inf(1))},
		{step: 0, input: "b", pair: 0, elem: 3071, v: float32(math.Inf(-1))},
	} {
		c.Batches = data
		m := smallModel(t)
		tr, err := New(m, c, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Run(context.Background())
		t.Log(err)
		want := []string{"train: step " + strconv.Itoa(int(c.step)) + ": ", "input " + c.input + " of pair " + strconv.Itoa(c.pair), "element " + strconv.Itoa(c.elem)}
		if err == nil {
			t.Fatalf("step %d with %v in input %s ran", c.step, c.v, c.input)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		if tr.Step() != c.step {
			t.Errorf("stopped after %d steps, want %d", tr.Step(), c.step)
		}
		// The same run without the poisoned step.
		ref := smallModel(t)
		if c.step > 0 {
			rc := cfg
			rc.StepsPerEpoch = int(c.step)
			rt, err := New(ref, data, nil, rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		sameParams(t, m, ref)
	}
}

// sameParams fails unless every parameter and statistic of got equals
// want's, bit for bit.
func sameParams(t *testing.T, got, want *siamese.Model) {
	t.Helper()
	wp := want.Network().Params()
	for i, p := range got.Network().Params() {
		a, b := p.Float32s(), wp[i].Float32s()
		for j := range a {
			if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
				t.Fatalf("%s[%d] = %g, want %g", p.Name, j, a[j], b[j])
			}
		}
	}
}

// finiteFile fails unless path loads as a model holding only finite
// values.
func finiteFile(t *testing.T, path string) *siamese.Model {
	t.Helper()
	m, err := siamese.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Network().Params() {
		if i := firstNonFinite(p.Float32s()); i >= 0 {
			t.Fatalf("%s: %s[%d] is %v", path, p.Name, i, p.Float32s()[i])
		}
	}
	return m
}

// TestPoisonedWeightStops: a weight turned NaN mid-training (as a memory
// fault or a bug elsewhere would) gives a non-finite loss; training stops
// with an error naming the step and the weight, the checkpoint and best
// model on disk stay those of the last epoch, finite and resumable, and
// the model refuses to be saved over them.
func TestPoisonedWeightStops(t *testing.T) {
	data := newPatterns(t, 3, 4, 9)
	val := newValPairs(data, 12)
	dir := t.TempDir()
	m := smallModel(t)
	var target *layers.Param
	for _, p := range m.Network().Params() {
		if !p.State && !strings.HasSuffix(p.Name, "bias") && len(p.Float32s()) > 5 {
			target = p
			break
		}
	}
	cdata := *data
	cdata.onBatch = func(step uint64) {
		if step == 4 {
			target.Float32s()[5] = float32(math.NaN())
		}
	}
	tr, err := New(m, &cdata, val, Config{Epochs: 3, StepsPerEpoch: 3, BatchSize: 4, Seed: 3, Optimizer: Optimizer{LearningRate: 1e-3}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Run(context.Background())
	if err == nil {
		t.Fatal("training with a NaN weight went on")
	}
	t.Log(err)
	for _, w := range []string{"train: step 4: ", target.Name + "[5] is NaN"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	// The NaN stays where it was put: the BatchNorm statistics the failed
	// step's forward pass updated are put back.
	for _, p := range m.Network().Params() {
		for i, v := range p.Float32s() {
			if f := float64(v); (math.IsNaN(f) || math.IsInf(f, 0)) && (p.Value != target.Value || i != 5) {
				t.Fatalf("after the failed step %s[%d] is %v", p.Name, i, v)
			}
		}
	}
	best := filepath.Join(dir, "best.safetensors")
	last := filepath.Join(dir, "last.safetensors")
	before, err := os.ReadFile(best)
	if err != nil {
		t.Fatal(err)
	}
	finiteFile(t, best)
	finiteFile(t, last)
	_, rt, err := Resume(last, data, val, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Step() != 3 {
		t.Errorf("checkpoint at step %d, want 3 (the end of epoch 1)", rt.Step())
	}
	if err := m.Save(best); err == nil || !strings.Contains(err.Error(), target.Name+"[5] is NaN") {
		t.Errorf("saving the poisoned model: %v", err)
	}
	if after, _ := os.ReadFile(best); string(after) != string(before) {
		t.Error("a refused save changed best.safetensors")
	}
}

// TestNonFiniteUpdateStops: an update that overflows the weights (a
// learning rate of 1e39 with finite gradients) or a BatchNorm statistic
// turned NaN (which the training loss does not see) stops training after
// that step with an error naming the step and the value; nothing
// non-finite reaches the disk.
func TestNonFiniteUpdateStops(t *testing.T) {
	data := newPatterns(t, 2, 3, 4)
	t.Run("learning rate", func(t *testing.T) {
		dir := t.TempDir()
		tr, err := New(smallModel(t), data, nil, Config{Epochs: 2, StepsPerEpoch: 1, BatchSize: 2, Optimizer: Optimizer{LearningRate: 1e39}, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Run(context.Background())
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "train: step 0: ") || !strings.Contains(err.Error(), "Inf") {
			t.Fatalf("got %v, want an error naming step 0 and an infinite weight", err)
		}
		for _, f := range []string{"best.safetensors", "last.safetensors"} {
			if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
				finiteFile(t, filepath.Join(dir, f))
			}
		}
	})
	t.Run("statistic", func(t *testing.T) {
		dir := t.TempDir()
		m := smallModel(t)
		var stat *layers.Param
		for _, p := range m.Network().Params() {
			if p.State {
				stat = p
				break
			}
		}
		cdata := *data
		cdata.onBatch = func(step uint64) {
			if step == 3 {
				stat.Float32s()[1] = float32(math.NaN())
			}
		}
		tr, err := New(m, &cdata, nil, Config{Epochs: 3, StepsPerEpoch: 2, BatchSize: 2, Optimizer: Optimizer{LearningRate: 1e-3}, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Run(context.Background())
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "train: step 3: ") || !strings.Contains(err.Error(), stat.Name+"[1] is NaN") {
			t.Fatalf("got %v, want an error naming step 3 and %s[1]", err, stat.Name)
		}
		for _, f := range []string{"best.safetensors", "last.safetensors"} {
			finiteFile(t, filepath.Join(dir, f))
		}
		_, rt, err := Resume(filepath.Join(dir, "last.safetensors"), data, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rt.Step() != 2 {
			t.Errorf("checkpoint at step %d, want 2", rt.Step())
		}
	})
}
