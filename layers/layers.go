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

// Forward applies the convolution to x of shape (N, in, H, W).
func (l *Conv2D) Forward(g *Graph, x *G.Node) (*G.Node, error) {
	ws := l.Weight.Value.Shape()
	if x.Dims() != 4 || x.Shape()[1] != ws[1] {
		return nil, fmt.Errorf("layers: %s: input %v does not have %d channels", l.Weight.Name, x.Shape(), ws[1])
	}
	stride, dil := max(l.Stride, 1), max(l.Dilation, 1)
	y, err := G.Conv2d(x, g.Node(l.Weight), tensor.Shape{ws[2], ws[3]}, []int{l.Pad, l.Pad}, []int{stride, stride}, []int{dil, dil})
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Weight.Name, err)
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
	c := l.Gamma.Value.Shape().TotalSize()
	if x.Dims() < 2 || x.Shape()[1] != c {
		return nil, fmt.Errorf("layers: %s: input %v does not have %d channels", l.Gamma.Name, x.Shape(), c)
	}
	op := &bnOp{
		opBase:   opBase{Name: fmt.Sprintf("BatchNorm%d(%s)", g.newID(), l.Gamma.Name), N: 3},
		dims:     x.Dims(),
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
	wt, err := G.Transpose(g.Node(l.Weight))
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Weight.Name, err)
	}
	y, err := G.Mul(x, wt)
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Weight.Name, err)
	}
	if l.Bias == nil {
		return y, nil
	}
	b, err := G.Reshape(g.Node(l.Bias), tensor.Shape{1, ws[0]})
	if err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Bias.Name, err)
	}
	if y, err = G.BroadcastAdd(y, b, nil, []byte{0}); err != nil {
		return nil, fmt.Errorf("layers: %s: %w", l.Bias.Name, err)
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
