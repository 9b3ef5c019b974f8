package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
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

// TestConvBNAddReLU checks the fused end of a residual block in an
// Inference graph, bit for bit, against ConvBN followed by AddReLU (each
// also run as its own op), with the weights kept packed across runs and
// new images in each, and its gradients numerically. A residual of another
// shape is refused.
func TestConvBNAddReLU(t *testing.T) {
	for _, s := range []struct{ n, c, h, f, k, stride int }{{2, 24, 9, 40, 1, 1}, {3, 16, 10, 72, 3, 2}, {1, 8, 5, 12, 3, 1}} {
		t.Run(fmt.Sprintf("n%d_c%d_%dx%d_f%d_k%d_s%d", s.n, s.c, s.h, s.h, s.f, s.k, s.stride), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(s.c), uint64(s.f)))
			c := NewConv2D("conv", s.c, s.f, s.k, s.stride, s.k/2)
			copy(c.Weight.Float32s(), randF32(rng, len(c.Weight.Float32s())))
			bn := NewBatchNorm("bn", s.f)
			for _, p := range bn.Params() {
				for i, v := range randF32(rng, s.f) {
					p.Float32s()[i] = v + 1.5 // a positive variance
				}
			}
			oh := (s.h+2*(s.k/2)-s.k)/s.stride + 1
			xs, ys := tensor.Shape{s.n, s.c, s.h, s.h}, tensor.Shape{s.n, s.f, oh, oh}
			outs := make([][]float32, 2)
			for k := range 2 {
				g := NewGraph(Inference, 0)
				x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(xs...), G.WithName("x"))
				r := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(ys...), G.WithName("res"))
				var y *G.Node
				var err error
				if k == 0 {
					y, err = ConvBNAddReLU(g, c, bn, x, r)
				} else if y, err = ConvBN(g, c, bn, x, false); err == nil {
					y, err = AddReLU(y, r)
				}
				if err != nil {
					t.Fatal(err)
				}
				var v G.Value
				G.Read(y, &v)
				vm := NewTapeMachine(g)
				rr := rand.New(rand.NewPCG(5, 6)) // the same inputs for both graphs
				for range 2 {
					if err := G.Let(x, tensor.New(tensor.WithShape(xs...), tensor.WithBacking(randF32(rr, xs.TotalSize())))); err != nil {
						t.Fatal(err)
					}
					if err := G.Let(r, tensor.New(tensor.WithShape(ys...), tensor.WithBacking(randF32(rr, ys.TotalSize())))); err != nil {
						t.Fatal(err)
					}
					if err := Run(vm); err != nil {
						t.Fatal(err)
					}
					outs[k] = append(outs[k], v.Data().([]float32)...)
				}
				vm.Close()
			}
			zeros := 0
			for i, v := range outs[1] {
				if v == 0 {
					zeros++
				}
				if math.Float32bits(outs[0][i]) != math.Float32bits(v) {
					t.Fatalf("element %d: fused %g, ConvBN and AddReLU %g", i, outs[0][i], v)
				}
			}
			if zeros == 0 || zeros == len(outs[1]) {
				t.Fatalf("%d of %d outputs are zero: the ReLU is not exercised", zeros, len(outs[1]))
			}
		})
	}
	t.Run("gradient", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		in := []*tensor.Dense{randDense(rng, 2, 3, 6, 6), randDense(rng, 4, 3, 3, 3), randDense(rng, 4), randDense(rng, 4), randDense(rng, 2, 4, 3, 3)}
		gradCheck(t, Inference, in, func(g *Graph, ps []*Param) (*G.Node, error) {
			return ConvBNAddReLU(g, &Conv2D{Weight: ps[1], Stride: 2, Pad: 1}, bnWith([]*Param{nil, ps[2], ps[3]}, 4), g.Node(ps[0]), g.Node(ps[4]))
		}, nil)
	})
	t.Run("shape", func(t *testing.T) {
		g := NewGraph(Inference, 0)
		x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 3, 6, 6), G.WithName("x"))
		r := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 4, 6, 6), G.WithName("res"))
		_, err := ConvBNAddReLU(g, NewConv2D("conv", 3, 4, 3, 2, 1), NewBatchNorm("bn", 4), x, r)
		if err == nil || !strings.Contains(err.Error(), "residual (1, 4, 6, 6), want the output's shape (1, 4, 3, 3)") {
			t.Fatalf("err = %v", err)
		}
	})
}
