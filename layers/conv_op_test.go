package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// naiveConv is the textbook convolution, in float64, of output size
// (oh, ow) given by the caller: it is not taken from the geometry the op
// itself uses.
func naiveConv(g convGeom, xs, ws tensor.Shape, x, w []float64, oh, ow int) ([]float64, tensor.Shape) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	f := ws[0]
	y := make([]float64, n*f*oh*ow)
	for img := range n {
		for o := range f {
			for i := range oh {
				for j := range ow {
					var s float64
					for ch := range c {
						for ki := range g.kh {
							for kj := range g.kw {
								ih, iw := i*g.sh-g.ph+ki*g.dh, j*g.sw-g.pw+kj*g.dw
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								s += x[((img*c+ch)*h+ih)*wd+iw] * w[((o*c+ch)*g.kh+ki)*g.kw+kj]
							}
						}
					}
					y[((img*f+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return y, tensor.Shape{n, f, oh, ow}
}

// convCase is a convolution of n images (c, h, h+1) by f kernels (c, k,
// k). oh and ow are the output's height and width, worked out by hand
// from PyTorch's formula floor((in + 2 pad - dil (k-1) - 1) / stride) + 1.
type convCase struct {
	n, c, h, f, k, stride, pad, dil int
	oh, ow                          int
}

var convCases = []convCase{
	{2, 3, 7, 4, 1, 1, 0, 1, 7, 8},
	{1, 3, 7, 4, 1, 1, 0, 1, 7, 8},
	{2, 3, 7, 4, 1, 2, 0, 1, 4, 4},   // floor(6/2) + 1, floor(7/2) + 1
	{2, 3, 7, 4, 3, 1, 1, 1, 7, 8},   // "same" padding
	{1, 3, 6, 4, 3, 2, 1, 1, 3, 4},   // floor(5/2) + 1, floor(6/2) + 1
	{2, 3, 8, 4, 3, 2, 1, 1, 4, 5},   // floor(7/2) + 1, floor(8/2) + 1
	{2, 2, 9, 3, 7, 2, 3, 1, 5, 5},   // the stem: floor(8/2) + 1, floor(9/2) + 1
	{2, 2, 6, 3, 3, 1, 0, 1, 4, 5},   // "valid"
	{2, 2, 7, 3, 3, 1, 3, 1, 11, 12}, // padding wider than the kernel
	{2, 2, 8, 3, 3, 1, 2, 2, 8, 9},   // dilated, "same"
}

func (c convCase) String() string {
	return fmt.Sprintf("n%d_c%d_h%d_f%d_k%d_s%d_p%d_d%d", c.n, c.c, c.h, c.f, c.k, c.stride, c.pad, c.dil)
}

func (c convCase) layer(w *Param) *Conv2D {
	return &Conv2D{Weight: w, Stride: c.stride, Pad: c.pad, Dilation: c.dil}
}

func TestConvForward(t *testing.T) {
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			x, w := randDense(rng, c.n, c.c, c.h, c.h+1), randDense(rng, c.f, c.c, c.k, c.k)
			l := c.layer(&Param{Name: "w", Value: w})
			geom := newConvOp(convGeom{kh: c.k, kw: c.k, sh: c.stride, sw: c.stride, ph: c.pad, pw: c.pad, dh: c.dil, dw: c.dil}).convGeom
			want, ws := naiveConv(geom, x.Shape(), w.Shape(), x.Data().([]float64), w.Data().([]float64), c.oh, c.ow)
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				xv, wv := x, w
				if dt == tensor.Float32 {
					xv, wv = toF32(x), toF32(w)
				}
				l.Weight = &Param{Name: "w", Value: wv}
				g := NewGraph(Inference, 1)
				y, err := l.Forward(g, G.NodeFromAny(g.G, xv, G.WithName("x")))
				if err != nil {
					t.Fatal(err)
				}
				if !y.Shape().Eq(ws) {
					t.Fatalf("shape %v, want %v", y.Shape(), ws)
				}
				var out G.Value
				G.Read(y, &out)
				vm := G.NewTapeMachine(g.G)
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				vm.Close()
				got := out.(*tensor.Dense)
				for i := range want {
					var v float64
					if dt == tensor.Float32 {
						v = float64(got.Data().([]float32)[i])
					} else {
						v = got.Data().([]float64)[i]
					}
					if math.Abs(v-want[i]) > 1e-5*(1+math.Abs(want[i])) {
						t.Fatalf("%v element %d: %g, want %g", dt, i, v, want[i])
					}
				}
			}
		})
	}
}

func toF32(d *tensor.Dense) *tensor.Dense {
	v := d.Data().([]float64)
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return tensor.New(tensor.WithShape(d.Shape().Clone()...), tensor.WithBacking(o))
}

func TestConvGradCases(t *testing.T) {
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(23, 24))
			gradCheck(t, Training, []*tensor.Dense{randDense(rng, c.n, c.c, c.h, c.h+1), randDense(rng, c.f, c.c, c.k, c.k)}, func(g *Graph, ps []*Param) (*G.Node, error) {
				return c.layer(ps[1]).Forward(g, g.Node(ps[0]))
			}, nil)
		})
	}
}

func TestConvRejects(t *testing.T) {
	g := NewGraph(Inference, 1)
	x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 3, 4, 4), G.WithName("x"))
	for _, l := range []*Conv2D{
		{Weight: NewParam("a", 2, 3, 7, 7)},          // kernel larger than the input
		{Weight: NewParam("b", 2, 4, 3, 3)},          // channel mismatch
		{Weight: NewParam("c", 2, 3, 3, 3), Pad: -1}, // negative padding
	} {
		if _, err := l.Forward(g, x); err == nil {
			t.Errorf("%s: no error", l.Weight.Name)
		}
	}
}

// TestConvBNInference checks the fused inference op against the
// convolution, BatchNorm and ReLU ops run one after another.
func TestConvBNInference(t *testing.T) {
	for _, n := range []int{1, 3} {
		for _, relu := range []bool{false, true} {
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				rng := rand.New(rand.NewPCG(51, uint64(n)))
				x, w := randDense(rng, n, 3, 7, 6), randDense(rng, 4, 3, 3, 3)
				bn := bnWith([]*Param{nil, {Name: "gamma", Value: randDense(rng, 4)}, {Name: "beta", Value: randDense(rng, 4)}}, 4)
				if dt == tensor.Float32 {
					x, w = toF32(x), toF32(w)
					for _, p := range bn.Params() {
						p.Value = toF32(p.Value)
					}
				}
				c := &Conv2D{Weight: &Param{Name: "w", Value: w}, Stride: 2, Pad: 1}
				outs := make([]*tensor.Dense, 2)
				for k := range 2 {
					g := NewGraph(Inference, 1)
					xn := g.Node(&Param{Name: "x", Value: x})
					var y *G.Node
					var err error
					if k == 0 {
						y, err = ConvBN(g, c, bn, xn, relu)
					} else if y, err = c.Forward(g, xn); err == nil {
						if y, err = bn.Forward(g, y); err == nil && relu {
							y, err = ReLU(y)
						}
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
					outs[k] = v.(*tensor.Dense)
				}
				// (7, 6) by 3x3, stride 2, pad 1: floor(6/2) + 1, floor(5/2) + 1.
				if ws := (tensor.Shape{n, 4, 4, 3}); !outs[0].Shape().Eq(ws) || !outs[1].Shape().Eq(ws) {
					t.Fatalf("shapes %v (fused) and %v (separate), want %v", outs[0].Shape(), outs[1].Shape(), ws)
				}
				a, b := toF64(outs[0]), toF64(outs[1])
				for i := range a {
					if math.Abs(a[i]-b[i]) > 1e-6*(1+math.Abs(b[i])) {
						t.Fatalf("n=%d relu=%v %v: element %d: fused %g, separate %g", n, relu, dt, i, a[i], b[i])
					}
				}
			}
		}
	}
}

func toF64(d *tensor.Dense) []float64 {
	if v, ok := d.Data().([]float64); ok {
		return v
	}
	v := d.Data().([]float32)
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}
