package train

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	"gorgonia.org/tensor"
)

// optParams returns parameters of 5, 70,000 (three chunks of step's work)
// and 1 elements with values from seed.
func optParams(seed uint64) []*layers.Param {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ps []*layers.Param
	for i, n := range []int{5, 70000, 1} {
		d := make([]float32, n)
		for j := range d {
			d[j] = float32(rng.NormFloat64())
		}
		ps = append(ps, &layers.Param{Name: string(rune('a' + i)), Value: tensor.New(tensor.WithShape(n), tensor.WithBacking(d))})
	}
	return ps
}

// runOptimizer takes steps of o on optParams with gradients from a fixed
// generator, on procs goroutines, and returns the weights after each.
func runOptimizer(t *testing.T, o Optimizer, procs, steps int) [][]float32 {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	ps := optParams(1)
	opt := newOptimizer(o, ps)
	rng := rand.New(rand.NewPCG(2, 2))
	var out [][]float32
	for range steps {
		grads := make([][]float32, len(ps))
		for k, p := range ps {
			grads[k] = make([]float32, len(p.Float32s()))
			for j := range grads[k] {
				grads[k][j] = float32(rng.NormFloat64())
			}
		}
		if !opt.step(grads, 0.01) {
			t.Fatal("finite weights reported non-finite")
		}
		for k, g := range grads {
			for j, v := range g {
				if v != 0 {
					t.Fatalf("gradient %d[%d] = %v after the step, want it zeroed", k, j, v)
				}
			}
		}
		var w []float32
		for _, p := range ps {
			w = append(w, p.Float32s()...)
		}
		out = append(out, w)
	}
	return out
}

// TestOptimizerStep: Adam and SGD (with weight decay) follow the textbook
// updates (torch.optim's) computed in float64, and give the same bits on
// one goroutine as on four.
func TestOptimizerStep(t *testing.T) {
	for _, o := range []Optimizer{
		{Kind: Adam, LearningRate: 0.01, WeightDecay: 0.1},
		{Kind: SGD, LearningRate: 0.01, WeightDecay: 0.1, Momentum: 0.8},
	} {
		one, four := runOptimizer(t, o, 1, 4), runOptimizer(t, o, 4, 4)
		for s := range one {
			for i := range one[s] {
				if math.Float32bits(one[s][i]) != math.Float32bits(four[s][i]) {
					t.Fatalf("%s step %d: element %d is %v on one goroutine, %v on four", o.Kind, s+1, i, one[s][i], four[s][i])
				}
			}
		}

		// The reference keeps everything in float64.
		d := o.WithDefaults()
		var w []float64
		for _, p := range optParams(1) {
			for _, v := range p.Float32s() {
				w = append(w, float64(v))
			}
		}
		m, v := make([]float64, len(w)), make([]float64, len(w))
		rng := rand.New(rand.NewPCG(2, 2))
		worst := 0.0
		for s := range 4 {
			for i := range w {
				g := float64(float32(rng.NormFloat64())) + d.WeightDecay*w[i]
				if d.Kind == SGD {
					m[i] = d.Momentum*m[i] + g
					w[i] -= d.LearningRate * m[i]
				} else {
					m[i] = d.Beta1*m[i] + (1-d.Beta1)*g
					v[i] = d.Beta2*v[i] + (1-d.Beta2)*g*g
					mh := m[i] / (1 - math.Pow(d.Beta1, float64(s+1)))
					vh := v[i] / (1 - math.Pow(d.Beta2, float64(s+1)))
					w[i] -= d.LearningRate * mh / (math.Sqrt(vh) + d.Epsilon)
				}
				worst = max(worst, math.Abs(float64(one[s][i])-w[i]))
			}
		}
		if worst > 1e-6 {
			t.Errorf("%s: %g from the float64 reference after 4 steps", o.Kind, worst)
		}
	}
}

// TestOptimizerReportsOverflow: a weight pushed past float32's range
// makes step report it.
func TestOptimizerReportsOverflow(t *testing.T) {
	for _, kind := range []OptimizerKind{Adam, SGD} {
		ps := optParams(1)
		opt := newOptimizer(Optimizer{Kind: kind}, ps)
		grads := make([][]float32, len(ps))
		for k, p := range ps {
			grads[k] = make([]float32, len(p.Float32s()))
		}
		grads[1][40000] = 1
		if opt.step(grads, 1e39) {
			t.Errorf("%s: a weight of %v reported finite", kind, ps[1].Float32s()[40000])
		}
	}
}
