package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestPackWhole: a product that reads A packed whole gives bit for bit
// what packing its blocks as it goes gives, on every assembly kernel, for
// shapes with several kc blocks, edge panels, several goroutines and
// several nc blocks of columns.
func TestPackWhole(t *testing.T) {
	for _, mk := range asmKernels {
		if !mk.usable {
			continue
		}
		for _, s := range [][3]int{{13, 40, 300}, {70, 9000, 520}, {300, 50, 700}, {8, 33, 1}} {
			m, n, k := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("%s/m%d_n%d_k%d", mk.name, m, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(m), uint64(k)))
				a, b := randF32(rng, m*k), randF32(rng, k*n)
				job := func(c []float32) *tileJob {
					return &tileJob{
						m: m, n: n, k: k,
						packA: packWeights(k, a),
						packB: func(nr, kc, nc, p0, j0 int, dst []float32) { packB(false, nr, kc, nc, p0, j0, b, n, dst) },
						c:     cLayout{c: c, ldc: n, seg: n},
					}
				}
				want, got := make([]float32, m*n), make([]float32, m*n)
				runTiles(mk, job(want))
				j := job(got)
				j.packedA = make([]float32, mk.packedSize(m, k))
				mk.packWhole(m, k, j.packA, j.packedA)
				runTiles(mk, j)
				same(t, "packed whole", got, want)
			})
		}
	}
}

// TestInferencePanels: an Inference graph keeps its convolutions' weights
// packed between runs. Its outputs must be bit for bit those of a
// recomputation that packs the weights afresh, and must follow the
// weights when they change in place between runs (one value, then all of
// them), as an optimiser step or a load changes them.
func TestInferencePanels(t *testing.T) {
	if tiledConv[float32]() == nil || convOneDNN {
		t.Skip("float32 convolutions do not take the tile path in this build or on this CPU: nothing is kept packed")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const n, c, h, f = 4, 48, 20, 72 // N·P = 1600 columns, K = 432: two kc blocks
	w := NewParam("w", f, c, 3, 3)
	copy(w.Float32s(), randF32(rng, f*c*9))
	bn := NewBatchNorm("bn", f)
	copy(bn.Gamma.Float32s(), randF32(rng, f))
	copy(bn.Beta.Float32s(), randF32(rng, f))
	conv := &Conv2D{Weight: w, Stride: 1, Pad: 1}
	x := tensor.New(tensor.WithShape(n, c, h, h), tensor.WithBacking(randF32(rng, n*c*h*h)))

	g := NewGraph(Inference, 0)
	xn := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(n, c, h, h), G.WithName("x"))
	plain, err := conv.Forward(g, xn)
	if err != nil {
		t.Fatal(err)
	}
	fused, err := ConvBN(g, conv, bn, xn, true)
	if err != nil {
		t.Fatal(err)
	}
	var pv, fv G.Value
	G.Read(plain, &pv)
	G.Read(fused, &fv)
	vm := NewTapeMachine(g)
	defer vm.Close()
	if err := G.Let(xn, x); err != nil {
		t.Fatal(err)
	}
	xs, ys := tensor.Shape{n, c, h, h}, tensor.Shape{n, f, h, h}
	geom := convGeom{kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1}
	// want recomputes both outputs from the current weights, packing them
	want := func() (y, z []float32) {
		y, z = make([]float32, ys.TotalSize()), make([]float32, ys.TotalSize())
		convForward(geom, xs, ys, x.Float32s(), w.Float32s(), y, nil, nil)
		e := bnEpilogue(&convBN{eps: bn.Eps, relu: true}, bn.Gamma.Float32s(), bn.Beta.Float32s(), bn.RunningMean.Float32s(), bn.RunningVar.Float32s())
		convForward(geom, xs, ys, x.Float32s(), w.Float32s(), z, e, nil)
		return y, z
	}
	var prev []float32
	for step, change := range []func(){
		func() {},
		func() {}, // unchanged: the kept panels
		func() { w.Float32s()[7*c*9+100] += 0.5 },
		func() { copy(w.Float32s(), randF32(rng, f*c*9)) },
	} {
		change()
		if err := Run(vm); err != nil {
			t.Fatal(err)
		}
		y, z := want()
		same(t, fmt.Sprintf("run %d: convolution", step), pv.Data().([]float32), y)
		same(t, fmt.Sprintf("run %d: convolution+BatchNorm+ReLU", step), fv.Data().([]float32), z)
		if step >= 2 && equal32(prev, y) {
			t.Fatalf("run %d: the output did not change with the weights", step)
		}
		prev = append(prev[:0], y...)
	}
}
