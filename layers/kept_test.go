package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestKeptOutputs: the ops of a differentiated graph write each run into
// the tensors of the run before, so a second run on new input must give
// exactly what a fresh graph gives on that input alone: no value of the
// first run may leak into the second (the max-pool gradient, which adds
// into its output, is the op most at risk).
func TestKeptOutputs(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		rng := rand.New(rand.NewPCG(7, 8))
		conv := func() *tensor.Dense { return randDense(rng, 6, 3, 3, 3) }
		w, gamma, beta := conv(), randDense(rng, 6), randDense(rng, 6)
		x1, x2 := randDense(rng, 2, 3, 9, 8), randDense(rng, 2, 3, 9, 8)
		if dt == tensor.Float32 {
			w, gamma, beta, x1, x2 = toF32(w), toF32(gamma), toF32(beta), toF32(x1), toF32(x2)
		}
		// run builds a fresh graph, runs it on each input in turn and
		// returns the loss and gradients of the last run.
		run := func(xs ...*tensor.Dense) []float64 {
			x := &Param{Name: "x", Value: xs[0].Clone().(*tensor.Dense)}
			ps := []*Param{{Name: "w", Value: w.Clone().(*tensor.Dense)}, {Name: "gamma", Value: gamma.Clone().(*tensor.Dense)}, {Name: "beta", Value: beta.Clone().(*tensor.Dense)}, x}
			bn := bnWith([]*Param{nil, ps[1], ps[2]}, 6)
			if dt == tensor.Float32 {
				bn.RunningMean.Value, bn.RunningVar.Value = toF32(bn.RunningMean.Value), toF32(bn.RunningVar.Value)
			}
			g := NewGraph(Training, 1)
			y, err := (&Conv2D{Weight: ps[0], Stride: 1, Pad: 1}).Forward(g, g.Node(x))
			if err == nil {
				y, err = bn.ForwardReLU(g, y)
			}
			if err == nil {
				y, err = MaxPool{Kernel: 3, Stride: 2, Pad: 1}.Forward(y)
			}
			if err == nil {
				y, err = AddReLU(y, y)
			}
			var loss *G.Node
			if err == nil {
				loss, err = G.Sum(y)
			}
			if err != nil {
				t.Fatal(err)
			}
			nodes := []*G.Node{g.Node(ps[0]), g.Node(ps[1]), g.Node(ps[2]), g.Node(x)}
			grads, err := G.Grad(loss, nodes...)
			if err != nil {
				t.Fatal(err)
			}
			vals := make([]G.Value, len(grads)+1)
			G.Read(loss, &vals[0])
			for i, gr := range grads {
				G.Read(gr, &vals[i+1])
			}
			vm := NewTapeMachine(g)
			defer vm.Close()
			for _, xv := range xs { // the same tensor, new values
				switch d := x.Value.Data().(type) {
				case []float32:
					copy(d, xv.Data().([]float32))
				case []float64:
					copy(d, xv.Data().([]float64))
				}
				if err := Run(vm); err != nil {
					t.Fatal(err)
				}
			}
			var out []float64
			for _, v := range vals {
				switch v := v.(type) {
				case *tensor.Dense:
					out = append(out, toF64(v)...)
				case *G.F32:
					out = append(out, float64(*v))
				case *G.F64:
					out = append(out, float64(*v))
				}
			}
			return out
		}
		twice, fresh := run(x1, x2), run(x2)
		for i := range fresh {
			if math.Float64bits(twice[i]) != math.Float64bits(fresh[i]) {
				t.Fatalf("%v: value %d after a first run %g, from a fresh graph %g", dt, i, twice[i], fresh[i])
			}
		}
	}
}
