package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2D is a 2-D convolution without bias, with square kernel, stride,
// padding and dilation. Weight has shape (out, in, k, k), as in PyTorch.
type Conv2D struct {
	Weight   *Param
	Stride   int // default 1
	Pad      int // zero padding on every side
	Dilation int // default 1
}

// NewConv2D returns a convolution with a zero weight named name+".weight".
func NewConv2D(name string, in, out, kernel, stride, pad int) *Conv2D {
	return &Conv2D{Weight: NewParam(name+".weight", out, in, kernel, kernel), Stride: stride, Pad: pad, Dilation: 1}
}

// Forward applies the convolution to x of shape (N, in, H, W). In an
// Inference graph the weights stay packed for the kernel from one run to
// the next, and are packed again when they have changed.
func (l *Conv2D) Forward(g *Graph, x *G.Node) (*G.Node, error) {
	op, err := l.op(g, x)
	if err != nil {
		return nil, err
	}
	y, err := G.ApplyOp(op, x, g.Node(l.Weight))
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Weight.Name, err)
	}
	return y, nil
}

// op returns the convolution op for x in g, its shapes checked.
func (l *Conv2D) op(g *Graph, x *G.Node) (*convOp, error) {
	ws := l.Weight.Value.Shape()
	if x.Dims() != 4 || x.Shape()[1] != ws[1] {
		return nil, fmt.Errorf("layers: %s: input %v does not have %d channels", l.Weight.Name, x.Shape(), ws[1])
	}
	stride, dil := max(l.Stride, 1), max(l.Dilation, 1)
	if l.Pad < 0 {
		return nil, fmt.Errorf("layers: %s: negative padding %d", l.Weight.Name, l.Pad)
	}
	op := newConvOp(convGeom{kh: ws[2], kw: ws[3], sh: stride, sw: stride, ph: l.Pad, pw: l.Pad, dh: dil, dw: dil})
	if _, err := op.outShape(x.Shape(), ws); err != nil {
		return nil, err
	}
	if g.Mode == Inference {
		op.panels = l.Weight.weightPanels()
	}
	return op, nil
}

func (o *convOp) outC(l *Conv2D) int { return l.Weight.Value.Shape()[0] }

// ConvBN applies c, then bn, then a ReLU when relu is set. In an
// Inference graph, with bn on its running statistics, it is one op: the
// BatchNorm's affine map and the ReLU are applied while the convolution's
// product is copied out (no intermediate tensor, no pass of its own). That
// op's gradient recomputes the convolution. Elsewhere it is c.Forward
// followed by bn.Forward or bn.ForwardReLU.
func ConvBN(g *Graph, c *Conv2D, bn *BatchNorm, x *G.Node, relu bool) (*G.Node, error) {
	if g.Mode != Inference {
		y, err := c.Forward(g, x)
		if err != nil {
			return nil, err
		}
		if relu {
			return bn.ForwardReLU(g, y)
		}
		return bn.Forward(g, y)
	}
	return convBNOp(g, c, bn, x, relu, nil)
}

// ConvBNAddReLU is max(bn(c(x)) + res, 0), the end of a residual block,
// res having the convolution's output shape. In an Inference graph it is
// one op, the BatchNorm, the addition and the ReLU applied to each tile of
// the product while it is in cache, with the result of ConvBN followed by
// AddReLU bit for bit; elsewhere it is those two.
func ConvBNAddReLU(g *Graph, c *Conv2D, bn *BatchNorm, x, res *G.Node) (*G.Node, error) {
	if g.Mode != Inference {
		y, err := ConvBN(g, c, bn, x, false)
		if err != nil {
			return nil, err
		}
		return AddReLU(y, res)
	}
	return convBNOp(g, c, bn, x, true, res)
}

// convBNOp applies the fused inference op: conv, BatchNorm, the residual
// res when not nil, and the ReLU when relu.
func convBNOp(g *Graph, c *Conv2D, bn *BatchNorm, x *G.Node, relu bool, res *G.Node) (*G.Node, error) {
	op, err := c.op(g, x)
	if err != nil {
		return nil, err
	}
	if f := op.outC(c); bn.Gamma.Value.Shape().TotalSize() != f {
		return nil, fmt.Errorf("layers: %s: %d channels, %s has %d", bn.Gamma.Name, bn.Gamma.Value.Shape().TotalSize(), c.Weight.Name, f)
	}
	op.bn = &convBN{mean: bn.RunningMean.Value, vari: bn.RunningVar.Value, eps: bn.Eps, relu: relu}
	op.N = 4
	op.Name = fmt.Sprintf("%s+BatchNorm%d(%s)", op.Name, g.newID(), bn.Gamma.Name)
	args := []*G.Node{x, g.Node(c.Weight), g.Node(bn.Gamma), g.Node(bn.Beta)}
	if res != nil {
		ys, _ := op.outShape(x.Shape(), c.Weight.Value.Shape())
		if !res.Shape().Eq(ys) {
			return nil, fmt.Errorf("layers: %s: residual %v, want the output's shape %v", c.Weight.Name, res.Shape(), ys)
		}
		op.bn.res = true
		op.N = 5
		op.Name += "Add"
		args = append(args, res)
	}
	if relu {
		op.Name += "ReLU"
	}
	y, err := G.ApplyOp(op, args...)
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", c.Weight.Name, err)
	}
	return y, nil
}

// BatchNorm normalises each channel of an (N, C, ...) input and applies a
// learned scale (Gamma, PyTorch's "weight") and shift (Beta, "bias").
//
// In a Training graph it uses the batch's mean and biased variance and
// updates RunningMean and RunningVar in place with
// running = (1-Momentum)*running + Momentum*batch (unbiased variance), as
// PyTorch does; in an Inference graph, or when Frozen, it uses the running
// statistics and leaves them alone. The running statistics are State
// parameters: saved with the model, never learned.
type BatchNorm struct {
	Gamma, Beta             *Param
	RunningMean, RunningVar *Param
	// Eps is added to the variance (PyTorch's default 1e-5).
	Eps float64
	// Momentum weighs the batch in the running statistics (PyTorch's
	// default 0.1; Keras' momentum 0.99 is 0.01 here).
	Momentum float64
	// Frozen makes Training graphs use the running statistics too, as
	// Keras does for a layer with trainable=False.
	Frozen bool
}

// NewBatchNorm returns a BatchNorm over c channels with PyTorch's defaults:
// Gamma 1, Beta 0, running mean 0, running variance 1, Eps 1e-5,
// Momentum 0.1. Parameter names are name+".weight", ".bias",
// ".running_mean" and ".running_var".
func NewBatchNorm(name string, c int) *BatchNorm {
	l := &BatchNorm{
		Gamma:       NewParam(name+".weight", c),
		Beta:        NewParam(name+".bias", c),
		RunningMean: NewParam(name+".running_mean", c),
		RunningVar:  NewParam(name+".running_var", c),
		Eps:         1e-5,
		Momentum:    0.1,
	}
	l.RunningMean.State, l.RunningVar.State = true, true
	Fill(l.Gamma, 1)
	Fill(l.RunningVar, 1)
	return l
}

// Forward normalises x.
func (l *BatchNorm) Forward(g *Graph, x *G.Node) (*G.Node, error) {
	return l.forward(g, x, false)
}

// ForwardReLU is ReLU(Forward(x)) as one op: one pass over the data in
// each direction and no intermediate tensor.
func (l *BatchNorm) ForwardReLU(g *Graph, x *G.Node) (*G.Node, error) {
	return l.forward(g, x, true)
}

func (l *BatchNorm) forward(g *Graph, x *G.Node, relu bool) (*G.Node, error) {
	c := l.Gamma.Value.Shape().TotalSize()
	if x.Dims() < 2 || x.Shape()[1] != c {
		return nil, fmt.Errorf("layers: %s: input %v does not have %d channels", l.Gamma.Name, x.Shape(), c)
	}
	name := fmt.Sprintf("BatchNorm%d(%s)", g.newID(), l.Gamma.Name)
	if relu {
		name += "ReLU"
	}
	op := &bnOp{
		opBase:   opBase{Name: name, N: 3},
		dims:     x.Dims(),
		relu:     relu,
		train:    g.Mode == Training && !l.Frozen,
		eps:      l.Eps,
		momentum: l.Momentum,
		mean:     l.RunningMean.Value,
		vari:     l.RunningVar.Value,
	}
	y, err := G.ApplyOp(op, x, g.Node(l.Gamma), g.Node(l.Beta))
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Gamma.Name, err)
	}
	return y, nil
}

// Params returns the layer's parameters: Gamma, Beta, RunningMean,
// RunningVar.
func (l *BatchNorm) Params() []*Param {
	return []*Param{l.Gamma, l.Beta, l.RunningMean, l.RunningVar}
}

// MaxPool is a max pooling with a square window and symmetric padding
// (padding counts as -Inf, as in PyTorch; padding must be at most half the
// window). A NaN in a window is its maximum, as in PyTorch.
type MaxPool struct {
	Kernel, Stride, Pad int
}

// Forward pools x of shape (N, C, H, W).
func (l MaxPool) Forward(x *G.Node) (*G.Node, error) {
	if l.Kernel < 1 || l.Stride < 1 || l.Pad < 0 || 2*l.Pad >= l.Kernel+1 {
		return nil, fmt.Errorf("layers: MaxPool: kernel %d, stride %d, padding %d", l.Kernel, l.Stride, l.Pad)
	}
	y, err := G.ApplyOp(newMaxPoolOp(l.Kernel, l.Stride, l.Pad), x)
	if err != nil {
		return nil, fmt.Errorf("layers: MaxPool: %w", err)
	}
	return y, nil
}

// Flatten reshapes x of shape (N, ...) to (N, product of the rest).
func Flatten(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if s.Dims() == 2 {
		return x, nil
	}
	rest := 1
	for _, d := range s[1:] {
		rest *= d
	}
	return G.Reshape(x, tensor.Shape{s[0], rest})
}

// Dense is a fully connected layer y = x Wᵀ + b, with Weight of shape
// (out, in) and Bias of shape (out), as PyTorch's Linear.
type Dense struct {
	Weight, Bias *Param
}

// NewDense returns a zero Dense layer named name+".weight" and name+".bias".
func NewDense(name string, in, out int) *Dense {
	return &Dense{Weight: NewParam(name+".weight", out, in), Bias: NewParam(name+".bias", out)}
}

// Forward applies the layer to x of shape (N, in).
func (l *Dense) Forward(g *Graph, x *G.Node) (*G.Node, error) {
	ws := l.Weight.Value.Shape()
	if x.Dims() != 2 || x.Shape()[1] != ws[1] {
		return nil, fmt.Errorf("layers: %s: input %v, want (N, %d)", l.Weight.Name, x.Shape(), ws[1])
	}
	if l.Bias == nil {
		return MatMulT(l.Weight.Name, x, g.Node(l.Weight))
	}
	if bs := l.Bias.Value.Shape(); bs.Dims() != 1 || bs[0] != ws[0] {
		return nil, fmt.Errorf("layers: %s: shape %v, want (%d)", l.Bias.Name, bs, ws[0])
	}
	y, err := G.ApplyOp(newLinearOp(l.Weight.Name, linearForwardBias), x, g.Node(l.Weight), g.Node(l.Bias))
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Weight.Name, err)
	}
	return y, nil
}

// Dropout zeroes each element with probability P in Training graphs and
// scales the kept ones by 1/(1-P), in the forward and the backward pass. In
// Inference graphs it is the identity. Masks come from the graph's seed,
// never from the clock.
type Dropout struct {
	P float64
}

// Forward applies dropout to x.
func (l Dropout) Forward(g *Graph, x *G.Node) (*G.Node, error) {
	if l.P < 0 || l.P >= 1 {
		return nil, fmt.Errorf("layers: Dropout: rate %g outside [0, 1)", l.P)
	}
	if g.Mode != Training || l.P == 0 {
		return x, nil
	}
	return G.ApplyOp(newDropoutOp(l.P, x.Dims(), g.seed, g.newStream(), &g.clock), x)
}
