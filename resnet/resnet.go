package resnet

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/safetensors"
	G "gorgonia.org/gorgonia"
)

// Encoder is a ResNet: torchvision's topology (stride on the 3x3
// convolution of bottleneck blocks, projection shortcuts by a strided 1x1
// convolution and BatchNorm) and parameter names. It owns its parameters;
// Forward attaches it to any number of graphs, which all share them.
type Encoder struct {
	cfg    Config
	conv1  *layers.Conv2D
	bn1    *layers.BatchNorm
	stages [4][]*block
	fc     *layers.Dense
	params []*layers.Param
	byName map[string]*layers.Param
	infer  inferCache
	dnnl   dnnlNets // Infer's oneDNN nets (build tag onednn)
	frozen int
}

type block struct {
	convs    []*layers.Conv2D // 2 (basic) or 3 (bottleneck)
	bns      []*layers.BatchNorm
	down     *layers.Conv2D // nil without projection
	downBN   *layers.BatchNorm
	stageIdx int
}

// New builds an encoder with freshly initialised parameters.
func New(cfg Config) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	counts, bottleneck, _ := stages(cfg.Depth)
	e := &Encoder{cfg: cfg, byName: make(map[string]*layers.Param)}
	bn := func(name string, c int) *layers.BatchNorm {
		l := layers.NewBatchNorm(name, c)
		l.Eps, l.Momentum = cfg.BNEps, cfg.BNMomentum
		e.add(l.Params()...)
		return l
	}
	conv := func(name string, in, out, k, stride, pad int) *layers.Conv2D {
		l := layers.NewConv2D(name, in, out, k, stride, pad)
		e.add(l.Weight)
		return l
	}
	e.conv1 = conv("conv1", cfg.InChannels, cfg.Width, 7, 2, 3)
	e.bn1 = bn("bn1", cfg.Width)
	in := cfg.Width
	for s := range 4 {
		planes := cfg.Width << s
		for i := range counts[s] {
			stride := 1
			if i == 0 && s > 0 {
				stride = 2
			}
			p := fmt.Sprintf("layer%d.%d.", s+1, i)
			b := &block{stageIdx: s}
			out := planes
			// Convolutions and BatchNorms are created in torchvision's
			// registration order, which is the state-dict order.
			type spec struct{ in, out, k, stride, pad int }
			specs := []spec{{in, planes, 3, stride, 1}, {planes, planes, 3, 1, 1}}
			if bottleneck {
				out = planes * 4
				specs = []spec{{in, planes, 1, 1, 0}, {planes, planes, 3, stride, 1}, {planes, out, 1, 1, 0}}
			}
			for k, sp := range specs {
				name := fmt.Sprintf("%sconv%d", p, k+1)
				b.convs = append(b.convs, conv(name, sp.in, sp.out, sp.k, sp.stride, sp.pad))
				b.bns = append(b.bns, bn(fmt.Sprintf("%sbn%d", p, k+1), sp.out))
			}
			if stride != 1 || in != out {
				b.down = conv(p+"downsample.0", in, out, 1, stride, 0)
				b.downBN = bn(p+"downsample.1", out)
			}
			e.stages[s] = append(e.stages[s], b)
			in = out
		}
	}
	if cfg.NumClasses > 0 {
		e.fc = layers.NewDense("fc", in, cfg.NumClasses)
		e.add(e.fc.Weight, e.fc.Bias)
	}
	e.init()
	return e, nil
}

func (e *Encoder) add(ps ...*layers.Param) {
	for _, p := range ps {
		e.params = append(e.params, p)
		e.byName[p.Name] = p
	}
}

// init fills the parameters as torchvision's ResNet.__init__ does.
func (e *Encoder) init() {
	rng := rand.New(rand.NewPCG(e.cfg.Seed, 0x5265734e6574)) // "ResNet"
	for _, p := range e.params {
		if p.Value.Dims() == 4 {
			layers.InitKaimingNormalFanOut(p, rng)
		}
	}
	if e.fc != nil {
		layers.InitLinear(e.fc, rng)
	}
}

// Config returns the encoder's configuration, defaults filled in.
func (e *Encoder) Config() Config { return e.cfg }

// Params returns every parameter and state tensor in torchvision's
// state-dict order.
func (e *Encoder) Params() []*layers.Param { return append([]*layers.Param(nil), e.params...) }

// Param returns the parameter with the given torchvision name, or nil.
func (e *Encoder) Param(name string) *layers.Param { return e.byName[name] }

// Features returns the number of channels of the output (per position
// when Pooling is PoolNone; NumClasses with a top).
func (e *Encoder) Features() int {
	if e.fc != nil {
		return e.cfg.NumClasses
	}
	return e.cfg.Features()
}

// Forward attaches the encoder to g and applies it to x of shape
// (N, InChannels, H, W). It returns (N, Features) pooled features,
// (N, Features, H/32, W/32) feature maps with PoolNone, or (N, NumClasses)
// logits with a classifier top. BatchNorm follows g's mode.
func (e *Encoder) Forward(g *layers.Graph, x *G.Node) (*G.Node, error) {
	if x.Dims() != 4 || x.Shape()[1] != e.cfg.InChannels {
		return nil, fmt.Errorf("resnet: input shape %v, want (N, %d, H, W)", x.Shape(), e.cfg.InChannels)
	}
	if h, w := x.Shape()[2], x.Shape()[3]; h < 32 || w < 32 {
		return nil, fmt.Errorf("resnet: input %dx%d is smaller than 32x32", h, w)
	}
	y, err := convBNReLU(g, e.conv1, e.bn1, x, true)
	if err != nil {
		return nil, err
	}
	if y, err = (layers.MaxPool{Kernel: 3, Stride: 2, Pad: 1}).Forward(y); err != nil {
		return nil, err
	}
	for _, st := range e.stages {
		for _, b := range st {
			if y, err = b.forward(g, y); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case e.fc != nil:
		if y, err = layers.GlobalAvgPool(y); err != nil {
			return nil, err
		}
		return e.fc.Forward(g, y)
	case e.cfg.Pooling == PoolAvg:
		return layers.GlobalAvgPool(y)
	case e.cfg.Pooling == PoolMax:
		return layers.GlobalMaxPool(y)
	}
	return y, nil
}

func convBNReLU(g *layers.Graph, c *layers.Conv2D, bn *layers.BatchNorm, x *G.Node, relu bool) (*G.Node, error) {
	return layers.ConvBN(g, c, bn, x, relu)
}

func (b *block) forward(g *layers.Graph, x *G.Node) (*G.Node, error) {
	y := x
	var err error
	last := len(b.convs) - 1
	for i, c := range b.convs[:last] {
		if y, err = convBNReLU(g, c, b.bns[i], y, true); err != nil {
			return nil, err
		}
	}
	id := x
	if b.down != nil {
		if id, err = convBNReLU(g, b.down, b.downBN, x, false); err != nil {
			return nil, err
		}
	}
	// the last convolution, its BatchNorm, the residual and the ReLU: one
	// op in inference graphs
	if y, err = layers.ConvBNAddReLU(g, b.convs[last], b.bns[last], y, id); err != nil {
		return nil, fmt.Errorf("resnet: residual: %w", err)
	}
	return y, nil
}

// LoadFile loads weights from a safetensors file with torchvision/timm
// parameter names (a torchvision state dict saved with safetensors' torch
// API, or timm's published resnet*.safetensors). It is strict: see
// layers.LoadParams. An encoder without a classifier top ignores the
// file's fc.weight and fc.bias, as Keras' include_top=False does.
func (e *Encoder) LoadFile(path string) error {
	return e.LoadFileWith(path, layers.LoadOptions{})
}

// LoadFileWith is LoadFile with explicit options.
func (e *Encoder) LoadFileWith(path string, opts layers.LoadOptions) error {
	return e.loadOpen(path, safetensors.Open, opts)
}

// LoadFS is LoadFile for the file name in fsys (an embed.FS, for example).
func (e *Encoder) LoadFS(fsys fs.FS, name string) error {
	open := func(name string) (*safetensors.File, error) { return safetensors.OpenFS(fsys, name) }
	return e.loadOpen(name, open, layers.LoadOptions{})
}

// loadOpen opens the file name with open and loads it.
func (e *Encoder) loadOpen(name string, open func(string) (*safetensors.File, error), opts layers.LoadOptions) error {
	f, err := open(name)
	if err != nil {
		return fmt.Errorf("resnet: %w", err)
	}
	defer f.Close()
	if err := e.LoadFrom(f, opts); err != nil {
		return fmt.Errorf("%w (in %s)", err, name)
	}
	return nil
}

// LoadFrom is LoadFileWith for a safetensors file already open: one from
// safetensors.NewReader over an io.ReaderAt (bytes in memory), or from
// safetensors.OpenFS.
func (e *Encoder) LoadFrom(f *safetensors.File, opts layers.LoadOptions) error {
	if err := layers.LoadParams(f, e.params, e.loadOptions(opts)); err != nil {
		return fmt.Errorf("resnet: %w", err)
	}
	return nil
}

// loadOptions adds to opts what the encoder itself ignores: the
// classifier top when it has none.
func (e *Encoder) loadOptions(opts layers.LoadOptions) layers.LoadOptions {
	if e.fc == nil {
		opts.Ignore = append(slices.Clip(opts.Ignore), "fc.")
	}
	return opts
}

// SaveFile writes every parameter and BatchNorm statistic to path as a
// safetensors file with torchvision names, atomically.
func (e *Encoder) SaveFile(path string) error {
	meta := map[string]string{"format": "pt", "arch": fmt.Sprintf("resnet%d", e.cfg.Depth)}
	if err := layers.SaveParams(path, e.params, meta); err != nil {
		return fmt.Errorf("resnet: %w", err)
	}
	return nil
}

// Stages is the number of stages Freeze counts: the stem (conv1, bn1) and
// layer1 to layer4.
const Stages = 5

// Freeze freezes the first n stages, counting the stem (conv1 and bn1) as
// stage 1 and layer1..layer4 as stages 2..5, and unfreezes the rest: frozen
// parameters get no gradient and frozen BatchNorms use their running
// statistics even in training graphs, as a Keras layer with
// trainable=False does. Freeze(0) trains everything, Freeze(Stages) freezes
// the whole encoder, Freeze(4) trains only layer4. The classifier top, if
// any, is never frozen. It applies to graphs built afterwards.
func (e *Encoder) Freeze(n int) error {
	if n < 0 || n > Stages {
		return fmt.Errorf("resnet: Freeze(%d): want 0 to %d stages", n, Stages)
	}
	set := func(frozen bool, convs []*layers.Conv2D, bns []*layers.BatchNorm) {
		for _, c := range convs {
			c.Weight.Frozen = frozen
		}
		for _, b := range bns {
			b.Frozen = frozen
			b.Gamma.Frozen, b.Beta.Frozen = frozen, frozen
		}
	}
	set(n >= 1, []*layers.Conv2D{e.conv1}, []*layers.BatchNorm{e.bn1})
	for s, st := range e.stages {
		for _, b := range st {
			convs, bns := b.convs, b.bns
			if b.down != nil {
				convs = append(append([]*layers.Conv2D(nil), convs...), b.down)
				bns = append(append([]*layers.BatchNorm(nil), bns...), b.downBN)
			}
			set(n >= s+2, convs, bns)
		}
	}
	e.frozen = n
	return nil
}

// Frozen returns the number of frozen stages (see Freeze).
func (e *Encoder) Frozen() int { return e.frozen }
