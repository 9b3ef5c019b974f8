//go:build onednn

package resnet

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gosiamese/gosiamese/internal/lru"
	"github.com/gosiamese/gosiamese/internal/onednn"
	"github.com/gosiamese/gosiamese/layers"
	"gorgonia.org/tensor"
)

// With the onednn build tag, Infer runs the whole encoder in oneDNN
// (internal/onednn.Net): BatchNorm folded into each convolution's weights
// and bias, ReLU and the residual addition as post-ops of the convolution
// before them, and the activations kept in oneDNN's own layouts from the
// stem to the pooling, so that no layer converts to and from NCHW. The
// weights and BatchNorm statistics are read at every call, so Infer sees
// training's updates as the graph path does. An encoder with a classifier
// top, or a convolution with dilation, takes the graph path. InferWith's
// BF16 builds the same net in bfloat16: the input and the weights are
// converted as they are reordered, the convolutions accumulate in float32
// with a float32 bias, and the last pooling converts its input to float32
// first, so that the output is averaged in float32.

// dnnlNets holds the nets of recent input shapes.
type dnnlNets struct {
	mu   sync.Mutex
	nets lru.Cache[dnnlKey, *dnnlNet]
}

type dnnlKey struct {
	shape [4]int
	nthr  int
	prec  Precision
}

// dnnlNet is a net and the layers whose parameters its convolutions take,
// in order.
type dnnlNet struct {
	net   *onednn.Net
	convs []convBN
	out   tensor.Shape
}

type convBN struct {
	c  *layers.Conv2D
	bn *layers.BatchNorm
}

// precisionAvailable: BF16 needs native bfloat16 as oneDNN sees the CPU.
func precisionAvailable(p Precision) error {
	if err := onednn.BF16Supported(); err != nil {
		return fmt.Errorf("%w: %v inference: %w", ErrPrecisionUnavailable, p, err)
	}
	return nil
}

// inferOneDNN runs Infer through oneDNN in precision p; ok is false when
// the encoder needs the graph path.
func (e *Encoder) inferOneDNN(x *tensor.Dense, p Precision) (out []float32, shape tensor.Shape, ok bool, err error) {
	if e.fc != nil {
		return nil, nil, false, nil
	}
	s := x.Shape()
	if s[1] != e.cfg.InChannels {
		return nil, nil, true, fmt.Errorf("resnet: input shape %v, want (N, %d, H, W)", s, e.cfg.InChannels)
	}
	if s[2] < 32 || s[3] < 32 {
		return nil, nil, true, fmt.Errorf("resnet: input %dx%d is smaller than 32x32", s[2], s[3])
	}
	e.dnnl.mu.Lock()
	defer e.dnnl.mu.Unlock()
	key := dnnlKey{shape: [4]int{s[0], s[1], s[2], s[3]}, nthr: runtime.GOMAXPROCS(0), prec: p}
	n, hit := e.dnnl.nets.Get(key)
	if !hit {
		if n, ok, err = e.buildNet(key.shape, p); !ok || err != nil {
			return nil, nil, ok, err
		}
		e.dnnl.nets.Max = MaxInferGraphs
		for _, d := range e.dnnl.nets.Put(key, n) {
			d.net.Close()
		}
	}
	ps := make([]onednn.ConvParams, len(n.convs))
	for i, c := range n.convs {
		ps[i].W = c.c.Weight.Value.Data().([]float32)
		if ps[i].Scale, ps[i].Shift, err = bnAffine(c.bn); err != nil {
			return nil, nil, true, err
		}
	}
	out = make([]float32, n.out.TotalSize())
	if err := n.net.Run(x.Data().([]float32), ps, out); err != nil {
		return nil, nil, true, fmt.Errorf("resnet: %w", err)
	}
	return out, n.out.Clone(), true, nil
}

// bnAffine folds BatchNorm on running statistics into a scale and a shift
// per channel, computed in float64 as the layers package's fused
// convolution does.
func bnAffine(bn *layers.BatchNorm) (scale, shift []float32, err error) {
	g, b := bn.Gamma.Value.Data(), bn.Beta.Value.Data()
	m, v := bn.RunningMean.Value.Data(), bn.RunningVar.Value.Data()
	gamma, ok1 := g.([]float32)
	beta, ok2 := b.([]float32)
	mean, ok3 := m.([]float32)
	vari, ok4 := v.([]float32)
	if !ok1 || !ok2 || !ok3 || !ok4 || len(beta) != len(gamma) || len(mean) != len(gamma) || len(vari) != len(gamma) {
		return nil, nil, fmt.Errorf("resnet: %s: BatchNorm parameters are not float32 vectors of one length", bn.Gamma.Name)
	}
	scale, shift = make([]float32, len(gamma)), make([]float32, len(gamma))
	for i := range gamma {
		invstd := 1 / math.Sqrt(float64(vari[i])+bn.Eps)
		scale[i] = float32(invstd * float64(gamma[i]))
		shift[i] = float32(float64(beta[i]) - float64(mean[i])*invstd*float64(gamma[i]))
	}
	return scale, shift, nil
}

// buildNet lays the encoder out as a net for input shape s. Four buffers
// suffice: the block's input, two for the intermediate convolutions and
// one for the projection shortcut, into which the block's last
// convolution adds; without a projection it adds into the block's input.
func (e *Encoder) buildNet(s [4]int, p Precision) (*dnnlNet, bool, error) {
	all := []*layers.Conv2D{e.conv1}
	for _, st := range e.stages {
		for _, b := range st {
			all = append(all, b.convs...)
			if b.down != nil {
				all = append(all, b.down)
			}
		}
	}
	for _, c := range all {
		if c.Dilation > 1 {
			return nil, false, nil
		}
	}
	dt := onednn.F32
	if p == BF16 {
		dt = onednn.BF16
	}
	net, err := onednn.NewNet(s[0], s[1], s[2], s[3], dt)
	if err != nil {
		return nil, true, fmt.Errorf("resnet: %w", err)
	}
	n := &dnnlNet{net: net}
	fail := func(err error) (*dnnlNet, bool, error) {
		net.Close()
		return nil, true, fmt.Errorf("resnet: %w", err)
	}
	conv := func(src, buf int, c *layers.Conv2D, bn *layers.BatchNorm, relu bool, sum int) (int, error) {
		ws := c.Weight.Value.Shape()
		stride := max(c.Stride, 1)
		n.convs = append(n.convs, convBN{c, bn})
		return net.Conv(src, buf, ws[0], ws[2], ws[3], stride, stride, c.Pad, c.Pad, relu, sum)
	}
	v, err := conv(0, 0, e.conv1, e.bn1, true, -1)
	if err != nil {
		return fail(err)
	}
	if v, err = net.Pool(v, 1, true, 3, 3, 2, 2, 1, 1, false); err != nil {
		return fail(err)
	}
	cur := 1 // buffer of the block's input
	for _, st := range e.stages {
		for _, b := range st {
			var free []int
			for i := range 4 {
				if i != cur {
					free = append(free, i)
				}
			}
			y := v
			last := len(b.convs) - 1
			for i, c := range b.convs[:last] {
				if y, err = conv(y, free[i%2], c, b.bns[i], true, -1); err != nil {
					return fail(err)
				}
			}
			sum, buf := v, cur
			if b.down != nil {
				buf = free[2]
				if sum, err = conv(v, buf, b.down, b.downBN, false, -1); err != nil {
					return fail(err)
				}
			}
			if v, err = conv(y, buf, b.convs[last], b.bns[last], true, sum); err != nil {
				return fail(err)
			}
			cur = buf
		}
	}
	if p := e.cfg.Pooling; p != PoolNone {
		d := net.Dims(v)
		if v, err = net.Pool(v, (cur+1)%4, p == PoolMax, d[2], d[3], 1, 1, 0, 0, true); err != nil {
			return fail(err)
		}
	}
	if err := net.Output(v); err != nil {
		return fail(err)
	}
	d := net.Dims(v)
	n.out = tensor.Shape{d[0], d[1], d[2], d[3]}
	if e.cfg.Pooling != PoolNone {
		n.out = tensor.Shape{d[0], d[1]}
	}
	return n, true, nil
}
