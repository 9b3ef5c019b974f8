package train

import (
	"context"
	"math"
	"slices"
	"testing"
)

// TestTrainerAppliesSchedule measures the learning rate each step of a
// run actually applies, with warm-up and cosine decay, and checks it and
// EpochStats.LearningRate against the schedule written out here.
//
// Adam with both betas near 0 and a negligible epsilon moves every weight
// whose gradient is not 0 by exactly the step's rate (its update is
// lr·g/|g|), so the median move of the weights in a step is that step's
// rate, whatever the gradients.
func TestTrainerAppliesSchedule(t *testing.T) {
	const (
		base   = 1e-2
		warmup = 3
		spe    = 4
		epochs = 3
		total  = spe * epochs
		minF   = 0.1
	)
	// want is the rate at step s (0-based): warm-up from base/warmup at
	// step 0 to the full rate at step warmup, times the cosine from 1 at
	// step 0 to minF at the end.
	want := func(s int) float64 {
		f := minF + (1-minF)*0.5*(1+math.Cos(math.Pi*float64(s)/total))
		if s < warmup {
			f *= float64(s+1) / warmup
		}
		return base * f
	}
	data := newPatterns(t, 2, 4, 6)
	m := smallModel(t)
	// snapshot copies every learnable weight.
	snapshot := func() []float32 {
		var w []float32
		for _, p := range m.Network().Params() {
			if !p.State {
				w = append(w, p.Float32s()...)
			}
		}
		return w
	}
	// The weights before each step: Batch is asked for a step's data just
	// before the step runs.
	var before [][]float32
	data.onBatch = func(step uint64) {
		if int(step) != len(before) {
			t.Errorf("batch of step %d asked for after %d steps", step, len(before))
		}
		before = append(before, snapshot())
	}
	tr, err := New(m, data, nil, Config{
		Epochs: epochs, StepsPerEpoch: spe, BatchSize: 4, Seed: 1,
		Optimizer: Optimizer{Kind: Adam, LearningRate: base, Beta1: 1e-12, Beta2: 1e-12, Epsilon: 1e-30},
		Schedule:  Schedule{Kind: CosineSchedule, WarmupSteps: warmup, MinFactor: minF},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(before) != total {
		t.Fatalf("%d steps run, want %d", len(before), total)
	}
	weights := append(before, snapshot())
	for s := range total {
		var moves []float64
		for i, w := range weights[s] {
			if d := math.Abs(float64(weights[s+1][i]) - float64(w)); d > 0 {
				moves = append(moves, d)
			}
		}
		// layer4's 3x3 kernels see a 1x1 map at this input size: only
		// their centre taps get a gradient.
		if len(moves) < len(weights[s])/10 {
			t.Fatalf("step %d moved %d of %d weights", s, len(moves), len(weights[s]))
		}
		slices.Sort(moves)
		got := moves[len(moves)/2]
		// float32 weights round each move by up to half an ulp of the weight.
		if math.Abs(got-want(s)) > 1e-4*want(s) {
			t.Errorf("step %d applied a learning rate of %.6g, want %.6g (factor %.4f)", s, got, want(s), want(s)/base)
		}
	}
	h := tr.History()
	if len(h) != epochs {
		t.Fatalf("%d epochs logged, want %d", len(h), epochs)
	}
	for i, e := range h {
		last := (i+1)*spe - 1
		if math.Abs(e.LearningRate-want(last)) > 1e-12*base {
			t.Errorf("epoch %d: EpochStats.LearningRate %.9g, want the rate of its last step %d, %.9g", e.Epoch, e.LearningRate, last, want(last))
		}
	}
}
