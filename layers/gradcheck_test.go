package layers

import (
	"fmt"
	"github.com/gosiamese/gosiamese/internal/gradcheck"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randDense returns a float64 tensor with values from U(-1, 1).
func randDense(rng *rand.Rand, shape ...int) *tensor.Dense { return gradcheck.Rand(rng, shape...) }

// gradCheck binds inputs as parameters named x0, x1, ... of a graph in
// mode, builds f on them and checks its gradients numerically.
func gradCheck(t *testing.T, mode Mode, inputs []*tensor.Dense, f func(g *Graph, ps []*Param) (*G.Node, error), beforeRun func()) {
	t.Helper()
	g := NewGraph(mode, 1)
	ps := make([]*Param, len(inputs))
	xs := make(G.Nodes, len(inputs))
	for i, in := range inputs {
		ps[i] = &Param{Name: fmt.Sprintf("x%d", i), Value: in}
		xs[i] = g.Node(ps[i])
	}
	y, err := f(g, ps)
	if err != nil {
		t.Fatal(err)
	}
	shareGradients(g) // as NewTapeMachine does
	gradcheck.Check(t, g.G, xs, y, beforeRun)
}

func TestAddReLUGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 2, 3, 4, 5), randDense(rng, 2, 3, 4, 5)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return AddReLU(g.Node(ps[0]), g.Node(ps[1]))
	}, nil)
	// the same node on both sides: the gradients add up
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 7)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return AddReLU(g.Node(ps[0]), g.Node(ps[0]))
	}, nil)
}

func TestReLUGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 2, 3, 4, 5)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return ReLU(g.Node(ps[0]))
	}, nil)
}

func bnWith(ps []*Param, c int) *BatchNorm {
	l := &BatchNorm{Gamma: ps[1], Beta: ps[2], Eps: 1e-5, Momentum: 0.1,
		RunningMean: NewParamOf(tensor.Float64, "rm", c), RunningVar: NewParamOf(tensor.Float64, "rv", c)}
	for i := range c {
		l.RunningMean.Value.Data().([]float64)[i] = 0.1 * float64(i)
		l.RunningVar.Value.Data().([]float64)[i] = 0.5 + 0.25*float64(i)
	}
	return l
}

func TestBatchNormGrad(t *testing.T) {
	for _, mode := range []Mode{Training, Inference} {
		for _, shape := range [][]int{{3, 4, 3, 2}, {5, 4}} {
			t.Run(fmt.Sprintf("%v%v", mode, shape), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				x := randDense(rng, shape...)
				gamma, beta := randDense(rng, 4), randDense(rng, 4)
				gradCheck(t, mode, []*tensor.Dense{x, gamma, beta}, func(g *Graph, ps []*Param) (*G.Node, error) {
					return bnWith(ps, 4).Forward(g, g.Node(ps[0]))
				}, nil)
				t.Run("ReLU", func(t *testing.T) {
					gradCheck(t, mode, []*tensor.Dense{x, gamma, beta}, func(g *Graph, ps []*Param) (*G.Node, error) {
						return bnWith(ps, 4).ForwardReLU(g, g.Node(ps[0]))
					}, nil)
				})
			})
		}
	}
}

func TestGlobalPoolGrad(t *testing.T) {
	for _, pool := range []func(*G.Node) (*G.Node, error){GlobalAvgPool, GlobalMaxPool} {
		rng := rand.New(rand.NewPCG(5, 6))
		gradCheck(t, Training, []*tensor.Dense{randDense(rng, 2, 3, 4, 5)}, func(g *Graph, ps []*Param) (*G.Node, error) {
			return pool(g.Node(ps[0]))
		}, nil)
	}
}

func TestAbsDiffGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 6), randDense(rng, 3, 6)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return L1(g.Node(ps[0]), g.Node(ps[1]))
	}, nil)
}

func TestDropoutGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var op *dropoutOp
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 4, 25)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		x := g.Node(ps[0])
		op = newDropoutOp(0.3, 2, 11, 12, nil)
		return G.ApplyOp(op, x)
	}, func() { op.runs = 0 })
}

func TestDenseGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 5), randDense(rng, 4, 5), randDense(rng, 4)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return (&Dense{Weight: ps[1], Bias: ps[2]}).Forward(g, g.Node(ps[0]))
	}, nil)
}

func TestConvGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 2, 3, 7, 7), randDense(rng, 4, 3, 3, 3)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return (&Conv2D{Weight: ps[1], Stride: 2, Pad: 1}).Forward(g, g.Node(ps[0]))
	}, nil)
}

func TestMaxPoolGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 2, 3, 8, 8)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return MaxPool{Kernel: 3, Stride: 2, Pad: 1}.Forward(g.Node(ps[0]))
	}, nil)
}

func TestCosineDistanceGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 6), randDense(rng, 3, 6)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return CosineDistance(g.Node(ps[0]), g.Node(ps[1]))
	}, nil)
}

func TestL2NormalizeGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, scale := range []float64{1, 2.5} {
		gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 5)}, func(g *Graph, ps []*Param) (*G.Node, error) {
			return L2Normalize(g.Node(ps[0]), scale)
		}, nil)
	}
	// Through a product of two normalised matrices, as a cosine
	// classifier computes its logits.
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 5), randDense(rng, 4, 5)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		x, err := L2Normalize(g.Node(ps[0]), 3)
		if err != nil {
			return nil, err
		}
		w, err := L2Normalize(g.Node(ps[1]), 1)
		if err != nil {
			return nil, err
		}
		return MatMulT("logits", x, w)
	}, nil)
}

func TestMatMulTGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 3, 5), randDense(rng, 4, 5)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		return MatMulT("w", g.Node(ps[0]), g.Node(ps[1]))
	}, nil)
	// A weight used twice, as two towers use theirs: its gradients add up.
	gradCheck(t, Training, []*tensor.Dense{randDense(rng, 2, 3), randDense(rng, 2, 3), randDense(rng, 4, 3), randDense(rng, 4)}, func(g *Graph, ps []*Param) (*G.Node, error) {
		d := &Dense{Weight: ps[2], Bias: ps[3]}
		a, err := d.Forward(g, g.Node(ps[0]))
		if err != nil {
			return nil, err
		}
		b, err := d.Forward(g, g.Node(ps[1]))
		if err != nil {
			return nil, err
		}
		return G.HadamardProd(a, b)
	}, nil)
}

func TestBatchNormReLUForward(t *testing.T) {
	for _, mode := range []Mode{Training, Inference} {
		rng := rand.New(rand.NewPCG(31, 32))
		x, gamma, beta := randDense(rng, 3, 4, 3, 2), randDense(rng, 4), randDense(rng, 4)
		outs := make([][]float64, 2)
		for k := range 2 {
			g := NewGraph(mode, 1)
			l := bnWith([]*Param{nil, {Name: "g", Value: gamma}, {Name: "b", Value: beta}}, 4)
			xn := g.Node(&Param{Name: "x", Value: x})
			var y *G.Node
			var err error
			if k == 0 {
				y, err = l.ForwardReLU(g, xn)
			} else if y, err = l.Forward(g, xn); err == nil {
				y, err = ReLU(y)
			}
			if err != nil {
				t.Fatal(err)
			}
			var v G.Value
			G.Read(y, &v)
			vm := G.NewTapeMachine(g.G)
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			vm.Close()
			outs[k] = v.Data().([]float64)
		}
		for i := range outs[0] {
			if outs[0][i] != outs[1][i] {
				t.Fatalf("%v: element %d: fused %g, separate %g", mode, i, outs[0][i], outs[1][i])
			}
		}
	}
}

// TestMaskPos checks the branch-free float32 mask against the plain one.
func TestMaskPos(t *testing.T) {
	nan := float32(math.NaN())
	y := []float32{0, 1, -1, float32(math.Copysign(0, -1)), 1e-45, 3, float32(math.Inf(1)), float32(math.Inf(-1)), nan, -nan}
	dy := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	got := make([]float32, len(y))
	maskPos(y, dy, got)
	for i, v := range y {
		want := float32(0)
		if v > 0 {
			want = dy[i]
		}
		if got[i] != want {
			t.Errorf("y=%g: %g, want %g", v, got[i], want)
		}
	}
	r := append([]float32(nil), y...)
	reluInPlace(r)
	for i, v := range y {
		if v != v {
			// NaN passes through, as in PyTorch.
			if r[i] == r[i] {
				t.Errorf("relu(NaN) = %g, want NaN", r[i])
			}
			continue
		}
		want := float32(0)
		if v > 0 {
			want = v
		}
		if r[i] != want || math.Signbit(float64(r[i])) {
			t.Errorf("relu(%g) = %g, want %g", v, r[i], want)
		}
	}
}
