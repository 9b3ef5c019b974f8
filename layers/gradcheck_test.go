package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randDense returns a float64 tensor of the given shape with values from
// U(-1, 1).
func randDense(rng *rand.Rand, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	for i, x := range d.Data().([]float64) {
		_ = x
		d.Data().([]float64)[i] = 2*rng.Float64() - 1
	}
	return d
}

// gradCheck compares the symbolic gradient of loss = sum(f(x...) ⊙ r), r
// random, with central differences, for every input, on float64 values.
// The inputs are bound as parameters named x0, x1, ...; f receives them so
// that a layer can use them as its own parameters. beforeRun, if not nil,
// runs before every evaluation (to replay a random mask).
func gradCheck(t *testing.T, mode Mode, inputs []*tensor.Dense, f func(g *Graph, ps []*Param) (*G.Node, error), beforeRun func()) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
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
	r := G.NodeFromAny(g.G, randDense(rng, y.Shape()...), G.WithName("r"))
	prod, err := G.HadamardProd(y, r)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, xs...)
	if err != nil {
		t.Fatal(err)
	}
	var lossV G.Value
	G.Read(loss, &lossV)
	gradVs := make([]G.Value, len(grads))
	for i := range grads {
		G.Read(grads[i], &gradVs[i])
	}
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	run := func() float64 {
		if beforeRun != nil {
			beforeRun()
		}
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return lossV.Data().(float64)
	}
	run()
	analytic := make([][]float64, len(grads))
	for i, v := range gradVs {
		analytic[i] = append([]float64(nil), v.(*tensor.Dense).Data().([]float64)...)
	}
	const h = 1e-6
	for i, in := range inputs {
		x := in.Data().([]float64)
		idx := rng.Perm(len(x))
		if len(idx) > 40 {
			idx = idx[:40]
		}
		for _, j := range idx {
			orig := x[j]
			x[j] = orig + h
			lp := run()
			x[j] = orig - h
			lm := run()
			x[j] = orig
			num := (lp - lm) / (2 * h)
			if a := analytic[i][j]; math.Abs(a-num) > 1e-6+1e-5*math.Abs(num) {
				t.Errorf("input %d element %d: analytic gradient %.9g, numeric %.9g", i, j, a, num)
			}
		}
	}
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
		op = newDropoutOp(0.3, 2, 11, 12)
		return G.ApplyOp(op, x)
	}, func() { op.rng = rand.New(rand.NewPCG(11, 12)) })
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
