package layers

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runOut builds build(g, x) on a fresh graph in mode with seed, runs it
// `runs` times and returns the output of each run.
func runOut(t *testing.T, mode Mode, seed uint64, x *tensor.Dense, runs int, build func(g *Graph, x *G.Node) (*G.Node, error)) [][]float32 {
	t.Helper()
	g := NewGraph(mode, seed)
	xn := G.NodeFromAny(g.G, x, G.WithName("x"))
	y, err := build(g, xn)
	if err != nil {
		t.Fatal(err)
	}
	var v G.Value
	G.Read(y, &v)
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	var outs [][]float32
	for range runs {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, append([]float32(nil), v.Data().([]float32)...))
	}
	return outs
}

func ones32(shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	for i := range d.Data().([]float32) {
		d.Data().([]float32)[i] = float32(i%7) + 1
	}
	return d
}

func TestDropoutForward(t *testing.T) {
	x := ones32(50, 200)
	xs := x.Data().([]float32)
	drop := func(g *Graph, x *G.Node) (*G.Node, error) { return Dropout{P: 0.2}.Forward(g, x) }
	outs := runOut(t, Training, 42, x, 2, drop)
	zeros := 0
	for i, v := range outs[0] {
		switch {
		case v == 0:
			zeros++
		case math.Abs(float64(v-xs[i]/0.8)) > 1e-6:
			t.Fatalf("kept element %d is %g, want %g/(1-0.2)", i, v, xs[i])
		}
	}
	if frac := float64(zeros) / float64(len(xs)); math.Abs(frac-0.2) > 0.02 {
		t.Errorf("dropped fraction %.3f, want about 0.2", frac)
	}
	if equal32(outs[0], outs[1]) {
		t.Error("two runs drew the same mask")
	}
	again := runOut(t, Training, 42, x, 2, drop)
	if !equal32(outs[0], again[0]) || !equal32(outs[1], again[1]) {
		t.Error("same seed gave different masks")
	}
	other := runOut(t, Training, 43, x, 1, drop)
	if equal32(outs[0], other[0]) {
		t.Error("different seeds gave the same mask")
	}
	inf := runOut(t, Inference, 42, x, 1, drop)
	if !equal32(inf[0], xs) {
		t.Error("dropout changed values in an inference graph")
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBatchNormForwardAndStats(t *testing.T) {
	const n, c, sp = 3, 2, 4
	x := ones32(n, c, 2, 2)
	xs := x.Data().([]float32)
	bn := NewBatchNorm("bn", c)
	copy(bn.Gamma.Float32s(), []float32{2, 0.5})
	copy(bn.Beta.Float32s(), []float32{1, -1})
	copy(bn.RunningMean.Float32s(), []float32{0.5, -0.5})
	copy(bn.RunningVar.Float32s(), []float32{4, 0.25})
	fwd := func(g *Graph, x *G.Node) (*G.Node, error) { return bn.Forward(g, x) }

	// Inference: running statistics, which stay untouched.
	out := runOut(t, Inference, 1, x, 1, fwd)[0]
	for i, v := range out {
		ch := (i / sp) % c
		want := (float64(xs[i])-float64(bn.RunningMean.Float32s()[ch]))/math.Sqrt(float64(bn.RunningVar.Float32s()[ch])+1e-5)*float64(bn.Gamma.Float32s()[ch]) + float64(bn.Beta.Float32s()[ch])
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Fatalf("inference element %d: %g, want %g", i, v, want)
		}
	}
	if bn.RunningMean.Float32s()[0] != 0.5 || bn.RunningVar.Float32s()[1] != 0.25 {
		t.Fatal("inference changed the running statistics")
	}

	// Training: batch statistics, running statistics updated with momentum
	// 0.1 and the unbiased variance.
	out = runOut(t, Training, 1, x, 1, fwd)[0]
	for ch := range c {
		var vals []float64
		for i := range n {
			for j := range sp {
				vals = append(vals, float64(xs[(i*c+ch)*sp+j]))
			}
		}
		mean, q := 0.0, 0.0
		for _, v := range vals {
			mean += v
		}
		mean /= float64(len(vals))
		for _, v := range vals {
			q += (v - mean) * (v - mean)
		}
		vari := q / float64(len(vals))
		for i := range n {
			for j := range sp {
				k := (i*c+ch)*sp + j
				want := (float64(xs[k])-mean)/math.Sqrt(vari+1e-5)*float64(bn.Gamma.Float32s()[ch]) + float64(bn.Beta.Float32s()[ch])
				if math.Abs(float64(out[k])-want) > 1e-5 {
					t.Fatalf("training element %d: %g, want %g", k, out[k], want)
				}
			}
		}
		rm0, rv0 := []float64{0.5, -0.5}[ch], []float64{4, 0.25}[ch]
		wantRM := 0.9*rm0 + 0.1*mean
		wantRV := 0.9*rv0 + 0.1*q/float64(len(vals)-1)
		if math.Abs(float64(bn.RunningMean.Float32s()[ch])-wantRM) > 1e-6 || math.Abs(float64(bn.RunningVar.Float32s()[ch])-wantRV) > 1e-5 {
			t.Errorf("channel %d running stats (%g, %g), want (%g, %g)", ch, bn.RunningMean.Float32s()[ch], bn.RunningVar.Float32s()[ch], wantRM, wantRV)
		}
	}

	// Frozen: a training graph behaves as inference.
	bn.Frozen = true
	before := append([]float32(nil), bn.RunningMean.Float32s()...)
	frozen := runOut(t, Training, 1, x, 1, fwd)[0]
	infer := runOut(t, Inference, 1, x, 1, fwd)[0]
	if !equal32(frozen, infer) || !equal32(before, bn.RunningMean.Float32s()) {
		t.Error("a frozen BatchNorm differs from inference or moved its statistics")
	}
}

func TestGlobalPoolForward(t *testing.T) {
	x := ones32(2, 3, 2, 5)
	xs := x.Data().([]float32)
	avg := runOut(t, Inference, 1, x, 1, func(g *Graph, x *G.Node) (*G.Node, error) { return GlobalAvgPool(x) })[0]
	mx := runOut(t, Inference, 1, x, 1, func(g *Graph, x *G.Node) (*G.Node, error) { return GlobalMaxPool(x) })[0]
	for k := range 6 {
		s, m := 0.0, float32(math.Inf(-1))
		for _, v := range xs[k*10 : (k+1)*10] {
			s += float64(v)
			m = max(m, v)
		}
		if math.Abs(float64(avg[k])-s/10) > 1e-6 || mx[k] != m {
			t.Errorf("channel %d: avg %g max %g, want %g and %g", k, avg[k], mx[k], s/10, m)
		}
	}
}

func TestGraphSharesParams(t *testing.T) {
	d := NewDense("fc", 3, 2)
	InitLinear(d, rand.New(rand.NewPCG(1, 1)))
	g := NewGraph(Training, 1)
	a := G.NewMatrix(g.G, tensor.Float32, G.WithShape(1, 3), G.WithName("a"))
	b := G.NewMatrix(g.G, tensor.Float32, G.WithShape(1, 3), G.WithName("b"))
	if _, err := d.Forward(g, a); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Forward(g, b); err != nil {
		t.Fatal(err)
	}
	ns, ps := g.Learnables()
	if len(ns) != 2 || ps[0] != d.Weight || ps[1] != d.Bias {
		t.Fatalf("two uses of one layer bound %d parameter nodes, want 2", len(ns))
	}
	h := NewGraph(Inference, 1)
	if h.Node(d.Weight).Value() != g.Node(d.Weight).Value() {
		t.Error("two graphs do not share the weight's value")
	}
	// A different tensor with the same name gets a node of its own.
	other := NewParam("fc.weight", 2, 3)
	if g.Node(other) == g.Node(d.Weight) {
		t.Error("two tensors named alike were merged into one node")
	}
}

func TestBadInput(t *testing.T) {
	g := NewGraph(Training, 1)
	x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 5, 4, 4), G.WithName("x"))
	if _, err := NewConv2D("c", 3, 8, 3, 1, 1).Forward(g, x); err == nil {
		t.Error("conv accepted 5 channels for 3")
	}
	if _, err := NewBatchNorm("bn", 3).Forward(g, x); err == nil {
		t.Error("batchnorm accepted 5 channels for 3")
	}
	if _, err := (Dropout{P: 1}).Forward(g, x); err == nil {
		t.Error("dropout accepted rate 1")
	}
	m := G.NewMatrix(g.G, tensor.Float32, G.WithShape(2, 4), G.WithName("m"))
	if _, err := NewDense("d", 3, 2).Forward(g, m); err == nil {
		t.Error("dense accepted 4 features for 3")
	}
}

// runNode runs g and returns n's float32 values.
func runNode(t *testing.T, g *Graph, n *G.Node) []float32 {
	t.Helper()
	var v G.Value
	G.Read(n, &v)
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(v.Data().([]float32)) // before Close
}

func TestCosineDistanceForward(t *testing.T) {
	x := tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{1, 0, 0, 2, 3, 3}))
	g := NewGraph(Inference, 1)
	a := G.NodeFromAny(g.G, x, G.WithName("a"))
	b := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{2, 0, 0, -1, 0, 0})), G.WithName("b"))
	d, err := CosineDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// same direction, opposite, zero vector
	want := []float32{0, 2, 1}
	for i, got := range runNode(t, g, d) {
		if math.Abs(float64(got-want[i])) > 1e-6 {
			t.Errorf("row %d: %g, want %g", i, got, want[i])
		}
	}
}

func TestL2NormalizeForward(t *testing.T) {
	x := tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{3, 4, 0, 0, -2, 0}))
	g := NewGraph(Inference, 1)
	y, err := L2Normalize(G.NodeFromAny(g.G, x, G.WithName("x")), 10)
	if err != nil {
		t.Fatal(err)
	}
	// length 10 in x's direction; a zero row stays zero
	want := []float32{6, 8, 0, 0, -10, 0}
	for i, got := range runNode(t, g, y) {
		if math.Abs(float64(got-want[i])) > 1e-5 {
			t.Errorf("element %d: %g, want %g", i, got, want[i])
		}
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := L2Normalize(G.NodeFromAny(g.G, x), bad); err == nil {
			t.Errorf("scale %v accepted", bad)
		}
	}
	if _, err := L2Normalize(G.NewVector(g.G, tensor.Float32, G.WithShape(3)), 1); err == nil {
		t.Error("a vector accepted")
	}
}

func TestDropoutSetStep(t *testing.T) {
	x := ones32(10, 50)
	run := func(steps ...uint64) [][]float32 {
		g := NewGraph(Training, 5)
		xn := G.NodeFromAny(g.G, x, G.WithName("x"))
		y, err := Dropout{P: 0.5}.Forward(g, xn)
		if err != nil {
			t.Fatal(err)
		}
		var v G.Value
		G.Read(y, &v)
		vm := G.NewTapeMachine(g.G)
		defer vm.Close()
		var outs [][]float32
		for _, s := range steps {
			g.SetStep(s)
			vm.Reset()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			outs = append(outs, append([]float32(nil), v.Data().([]float32)...))
		}
		return outs
	}
	a := run(0, 1, 2, 3)
	b := run(2, 3)
	if !equal32(a[2], b[0]) || !equal32(a[3], b[1]) {
		t.Error("a graph started at step 2 drew other masks than one that ran steps 0 to 3")
	}
	if equal32(a[0], a[1]) {
		t.Error("steps 0 and 1 drew the same mask")
	}
}

func TestMaxPoolForwardAndNaN(t *testing.T) {
	x := tensor.New(tensor.WithShape(1, 1, 3, 4), tensor.WithBacking([]float32{
		1, 5, 2, 0,
		3, 4, 9, 1,
		7, 0, 6, 8,
	}))
	out := runOut(t, Inference, 1, x, 1, func(g *Graph, x *G.Node) (*G.Node, error) {
		return MaxPool{Kernel: 3, Stride: 2, Pad: 1}.Forward(x)
	})[0]
	// windows (rows -1..1 | 1..3, cols -1..1 | 1..3)
	want := []float32{5, 9, 7, 9}
	if !equal32(out, want) {
		t.Errorf("max pool %v, want %v", out, want)
	}
	// A NaN input gives NaN out and a gradient, never a panic.
	nan := float32(math.NaN())
	xn := tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking([]float32{nan, nan, nan, nan}))
	g := NewGraph(Training, 1)
	xnode := G.NodeFromAny(g.G, xn, G.WithName("x"))
	y, err := MaxPool{Kernel: 3, Stride: 2, Pad: 1}.Forward(xnode)
	if err != nil {
		t.Fatal(err)
	}
	s, err := G.Sum(y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(s, xnode); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
}

// TestReLUKeepsNaN checks ReLU and AddReLU on NaN, infinities and signed
// zeros, in float32 and float64 (each has a kernel of its own): a NaN must
// pass through, as in PyTorch, so that a numeric fault reaches the loss.
func TestReLUKeepsNaN(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	in := []float64{-1, 0, math.Copysign(0, -1), 2, nan, inf, -inf, -nan}
	want := []float64{0, 0, 0, 2, nan, inf, 0, nan}
	zeros := make([]float64, len(in))
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, op := range []struct {
			name string
			f    func(g *Graph, x *G.Node) (*G.Node, error)
		}{
			{"ReLU", func(g *Graph, x *G.Node) (*G.Node, error) { return ReLU(x) }},
			{"AddReLU", func(g *Graph, x *G.Node) (*G.Node, error) {
				z := G.NodeFromAny(g.G, denseOf(dt, zeros, 1, len(zeros)), G.WithName("zeros"))
				return AddReLU(x, z)
			}},
		} {
			g := NewGraph(Inference, 1)
			y, err := op.f(g, G.NodeFromAny(g.G, denseOf(dt, in, 1, len(in)), G.WithName("x")))
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
			got := toF64(v.(*tensor.Dense))
			for i := range want {
				if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) || math.Signbit(got[i]) && !math.IsNaN(got[i]) {
					t.Errorf("%v %s: element %d, %g, gives %g, want %g", dt, op.name, i, in[i], got[i], want[i])
				}
			}
		}
	}
}

// denseOf returns v as a tensor of dtype dt and the given shape.
func denseOf(dt tensor.Dtype, v []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float32 {
		o := make([]float32, len(v))
		for i, x := range v {
			o[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(o))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
}
