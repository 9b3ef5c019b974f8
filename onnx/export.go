package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// Versions of the files written.
const (
	// Opset is the version of the default ONNX operator set the graphs use.
	Opset = 17
	// IRVersion is the ONNX IR version of the files (ONNX 1.12).
	IRVersion = 8
)

// Names of the graphs' inputs and outputs.
const (
	// Image is ExportEncoder's input: images preprocessed with the model's
	// preprocess.Config, float32 (N, Channels, Size, Size).
	Image = "image"
	// EmbeddingOutput is ExportEncoder's output, float32 (N, F): the
	// tower's embeddings, or search vectors with Options.SearchVectors.
	EmbeddingOutput = "embedding"
	// ImageA and ImageB are ExportModel's inputs, each like Image: the
	// first image of each pair and the second.
	ImageA, ImageB = "image_a", "image_b"
	// Score is ExportModel's output, float32 (N, 1): the model's score,
	// sigmoid(Logit).
	Score = "score"
	// Logit is ExportModel's other output, float32 (N, 1): the logit
	// bias - Σ|u_i| d_i.
	Logit = "logit"
)

// Options adjusts an export. The zero value exports the first tower's
// embeddings.
type Options struct {
	// Tower is the tower ExportEncoder writes: siamese.First (default), or
	// siamese.Second, the one that embeds a Gallery's references when the
	// model's towers are separate (with shared towers they are one).
	// ExportModel writes both and ignores it.
	Tower siamese.Tower
	// SearchVectors makes ExportEncoder output the model's search vectors
	// (siamese.Model.FoldHead: the embeddings with the output layer's
	// weights folded in) instead of the embeddings. Off by default.
	// ExportModel ignores it.
	SearchVectors bool
}

// Validate reports what is wrong with o, or nil.
func (o Options) Validate() error {
	if o.Tower != siamese.First && o.Tower != siamese.Second {
		return fmt.Errorf("onnx: tower %d (want siamese.First or siamese.Second)", o.Tower)
	}
	return nil
}

// ExportEncoder writes one tower of m as an ONNX model: input Image,
// float32 (N, C, S, S) already preprocessed with m's preprocess.Config;
// output EmbeddingOutput, float32 (N, F), what m.Network().EmbedImages
// gives (or search vectors, see Options). N is dynamic.
func ExportEncoder(w io.Writer, m *siamese.Model, opts Options) error {
	return export(w, m, opts, false)
}

// ExportModel writes the whole Siamese model of m as an ONNX model: inputs
// ImageA and ImageB, each float32 (N, C, S, S) preprocessed with m's
// preprocess.Config; outputs Score and Logit, each float32 (N, 1), for
// the N pairs, what m.CompareBatch and m.Network().Logit give. N is
// dynamic.
func ExportModel(w io.Writer, m *siamese.Model, opts Options) error {
	return export(w, m, opts, true)
}

func export(w io.Writer, m *siamese.Model, opts Options, pair bool) error {
	if m == nil {
		return errors.New("onnx: no model")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	var out []byte
	// The parameters are read under the model's lock, so an export never
	// sees a half-done optimiser step.
	err := m.Network().ChangeParams(func() error {
		e, err := newExporter(m)
		if err != nil {
			return err
		}
		if pair {
			out, err = e.pair()
		} else {
			out, err = e.encoder(int(opts.Tower), opts.SearchVectors)
		}
		return err
	})
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// exporter builds graphs from one model's parameters.
type exporter struct {
	m      *siamese.Model
	cfg    siamese.Config
	params map[string]*layers.Param
	b      *builder
}

func newExporter(m *siamese.Model) (*exporter, error) {
	e := &exporter{m: m, cfg: m.Config(), params: map[string]*layers.Param{}}
	for _, p := range m.Network().Params() {
		if p.Float32s() == nil {
			return nil, fmt.Errorf("onnx: %s is %v, not float32", p.Name, p.Value.Dtype())
		}
		e.params[p.Name] = p
	}
	return e, nil
}

// param returns the named parameter's values, or an error naming it.
func (e *exporter) param(name string) ([]float32, []int64, error) {
	p, ok := e.params[name]
	if !ok {
		return nil, nil, fmt.Errorf("onnx: the model has no %s", name)
	}
	var dims []int64
	for _, d := range p.Shape() {
		dims = append(dims, int64(d))
	}
	return p.Float32s(), dims, nil
}

// metadata describes the graph's inputs for whoever serves it.
func (e *exporter) metadata(kind string) error {
	pre, err := json.Marshal(e.cfg.Input)
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	e.b.meta("gosiamese.graph", kind)
	e.b.meta("gosiamese.preprocess", string(pre))
	e.b.meta("gosiamese.distance", e.cfg.Distance.String())
	e.b.meta("gosiamese.search_metric", e.m.SearchMetric())
	return nil
}

func (e *exporter) encoder(t int, search bool) ([]byte, error) {
	kind := "encoder"
	if search {
		kind = "search vectors"
	}
	if !e.cfg.SeparateTowers {
		t = 0 // one tower
	}
	e.b = newBuilder("gosiamese " + kind)
	in := e.cfg.Input
	e.b.input(Image, in.Channels, in.Size, in.Size)
	y, err := e.tower(t, Image, "")
	if err != nil {
		return nil, err
	}
	if search {
		if y, err = e.fold(y); err != nil {
			return nil, err
		}
	}
	e.b.name(EmbeddingOutput)
	e.b.output(EmbeddingOutput, e.cfg.EmbeddingSize())
	if err := e.metadata(kind); err != nil {
		return nil, err
	}
	return e.b.model(fmt.Sprintf("gosiamese %s, tower %d, %s distance: %s (N, %d, %d, %d) preprocessed -> %s (N, %d)",
		kind, t, e.cfg.Distance, Image, in.Channels, in.Size, in.Size, EmbeddingOutput, e.cfg.EmbeddingSize()))
}

func (e *exporter) pair() ([]byte, error) {
	e.b = newBuilder("gosiamese model")
	in := e.cfg.Input
	e.b.input(ImageA, in.Channels, in.Size, in.Size)
	e.b.input(ImageB, in.Channels, in.Size, in.Size)
	a, err := e.tower(0, ImageA, "a/")
	if err != nil {
		return nil, err
	}
	b, err := e.tower(1, ImageB, "b/")
	if err != nil {
		return nil, err
	}
	d, err := e.distance(a, b)
	if err != nil {
		return nil, err
	}
	u, dims, err := e.param("out.weight")
	if err != nil {
		return nil, err
	}
	negAbs := make([]float32, len(u))
	for i, v := range u {
		negAbs[i] = -float32(math.Abs(float64(v)))
	}
	bias, bdims, err := e.param("out.bias")
	if err != nil {
		return nil, err
	}
	wName := e.b.init("out.weight.neg_abs", dims, negAbs)
	bName := e.b.init("out.bias", bdims, bias)
	e.b.op("", "Gemm", []string{d, wName, bName}, attrInt("transB", 1))
	e.b.name(Logit)
	e.b.op("", "Sigmoid", []string{Logit})
	e.b.name(Score)
	e.b.output(Score, 1)
	e.b.output(Logit, 1)
	if err := e.metadata("model"); err != nil {
		return nil, err
	}
	return e.b.model(fmt.Sprintf("gosiamese model, %s distance: %s, %s (N, %d, %d, %d) preprocessed -> %s, %s (N, 1)",
		e.cfg.Distance, ImageA, ImageB, in.Channels, in.Size, in.Size, Score, Logit))
}

// tower adds tower t (encoder and hidden layers) on input x, its nodes'
// names prefixed with scope, and returns the embeddings.
func (e *exporter) tower(t int, x, scope string) (string, error) {
	prefix, head := "encoder.", "head."
	if t == 1 && e.cfg.SeparateTowers {
		prefix, head = "encoder_b.", "head_b."
	}
	y, err := e.resnet(prefix, x, scope)
	if err != nil {
		return "", err
	}
	for i := range e.cfg.Hidden {
		wv, wd, err := e.param(fmt.Sprintf("%s%d.weight", head, i))
		if err != nil {
			return "", err
		}
		bv, bd, err := e.param(fmt.Sprintf("%s%d.bias", head, i))
		if err != nil {
			return "", err
		}
		wn := e.b.init(fmt.Sprintf("%s%d.weight", head, i), wd, wv)
		bn := e.b.init(fmt.Sprintf("%s%d.bias", head, i), bd, bv)
		y = e.b.op(scope, "Gemm", []string{y, wn, bn}, attrInt("transB", 1))
		y = e.b.op(scope, "Relu", []string{y})
	}
	return y, nil
}

// resnet adds the encoder whose parameters are named prefix+<torchvision
// name>, in torchvision's topology (as resnet.New builds it), with each
// BatchNorm folded into the convolution before it.
func (e *exporter) resnet(prefix, x, scope string) (string, error) {
	eps := e.cfg.Encoder.BNEps
	conv := func(x, c, bn string, stride int64, relu bool) (string, error) {
		y, err := e.convBN(prefix, scope, x, c, bn, stride, eps)
		if err == nil && relu {
			y = e.b.op(scope, "Relu", []string{y})
		}
		return y, err
	}
	y, err := conv(x, "conv1", "bn1", 2, true)
	if err != nil {
		return "", err
	}
	y = e.b.op(scope, "MaxPool", []string{y}, attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("pads", 1, 1, 1, 1))
	for s := 1; s <= 4; s++ {
		for i := 0; ; i++ {
			p := fmt.Sprintf("layer%d.%d.", s, i)
			if _, ok := e.params[prefix+p+"conv1.weight"]; !ok {
				if i == 0 {
					return "", fmt.Errorf("onnx: the model has no %s%sconv1.weight", prefix, p)
				}
				break
			}
			var stride int64 = 1
			if i == 0 && s > 1 {
				stride = 2
			}
			// torchvision strides the 3x3 convolution: the first of a basic
			// block, the second of a bottleneck.
			strides := []int64{stride, 1}
			if _, ok := e.params[prefix+p+"conv3.weight"]; ok {
				strides = []int64{1, stride, 1}
			}
			out := y
			for k, st := range strides {
				if out, err = conv(out, fmt.Sprintf("%sconv%d", p, k+1), fmt.Sprintf("%sbn%d", p, k+1), st, k < len(strides)-1); err != nil {
					return "", err
				}
			}
			id := y
			if _, ok := e.params[prefix+p+"downsample.0.weight"]; ok {
				if id, err = conv(y, p+"downsample.0", p+"downsample.1", stride, false); err != nil {
					return "", err
				}
			}
			y = e.b.op(scope, "Add", []string{out, id})
			y = e.b.op(scope, "Relu", []string{y})
		}
	}
	switch e.cfg.Encoder.Pooling {
	case resnet.PoolAvg:
		y = e.b.op(scope, "GlobalAveragePool", []string{y})
	case resnet.PoolMax:
		y = e.b.op(scope, "GlobalMaxPool", []string{y})
	}
	return e.b.op(scope, "Flatten", []string{y}, attrInt("axis", 1)), nil
}

// convBN adds the convolution prefix+c with the BatchNorm prefix+bn folded
// in: weight W·γ/sqrt(σ²+ε) per output channel, bias β - μγ/sqrt(σ²+ε),
// computed in float64. The padding is half the kernel, as in torchvision.
func (e *exporter) convBN(prefix, scope, x, c, bn string, stride int64, eps float64) (string, error) {
	w, wd, err := e.param(prefix + c + ".weight")
	if err != nil {
		return "", err
	}
	var stats [4][]float32
	for i, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		if stats[i], _, err = e.param(prefix + bn + "." + s); err != nil {
			return "", err
		}
		if len(stats[i]) != int(wd[0]) {
			return "", fmt.Errorf("onnx: %s%s.%s has %d channels, %s%s.weight %d", prefix, bn, s, len(stats[i]), prefix, c, wd[0])
		}
	}
	gamma, beta, mean, vari := stats[0], stats[1], stats[2], stats[3]
	per := len(w) / int(wd[0])
	fw, fb := make([]float32, len(w)), make([]float32, wd[0])
	for o := range fb {
		scale := float64(gamma[o]) / math.Sqrt(float64(vari[o])+eps)
		for j := o * per; j < (o+1)*per; j++ {
			fw[j] = float32(float64(w[j]) * scale)
		}
		fb[o] = float32(float64(beta[o]) - float64(mean[o])*scale)
	}
	k, pad := wd[2], wd[2]/2
	wn := e.b.init(prefix+c+".weight.bn_folded", wd, fw)
	bn2 := e.b.init(prefix+c+".bias.bn_folded", wd[:1], fb)
	return e.b.op(scope, "Conv", []string{x, wn, bn2},
		attrInts("kernel_shape", k, k), attrInts("strides", stride, stride), attrInts("pads", pad, pad, pad, pad)), nil
}

// distance adds the head's distance features of embeddings a and b:
// |a-b| (N, F) for L1, (a-b)² for L2, 1 - cos (N, 1) for Cosine, with
// |x| = sqrt(Σx² + 1e-12) as the model computes it.
func (e *exporter) distance(a, b string) (string, error) {
	switch e.cfg.Distance {
	case siamese.L1:
		d := e.b.op("", "Sub", []string{a, b})
		return e.b.op("", "Abs", []string{d}), nil
	case siamese.L2:
		d := e.b.op("", "Sub", []string{a, b})
		return e.b.op("", "Mul", []string{d, d}), nil
	case siamese.Cosine:
		ab := e.b.op("", "Mul", []string{a, b})
		ab = e.b.op("", "ReduceSum", []string{ab, e.b.initInt64("axis1", []int64{1}, []int64{1})}, attrInt("keepdims", 1))
		nn := e.b.op("", "Mul", []string{e.norm(a), e.norm(b)})
		cos := e.b.op("", "Div", []string{ab, nn})
		return e.b.op("", "Sub", []string{e.b.init("one", []int64{1}, []float32{1}), cos}), nil
	}
	return "", fmt.Errorf("onnx: distance %v", e.cfg.Distance)
}

// norm adds sqrt(Σx² + 1e-12) over each row of x: (N, 1).
func (e *exporter) norm(x string) string {
	ss := e.b.op("", "ReduceSumSquare", []string{x}, attrInts("axes", 1), attrInt("keepdims", 1))
	ss = e.b.op("", "Add", []string{ss, e.b.init("cosine_eps", []int64{1}, []float32{numeric.Eps})})
	return e.b.op("", "Sqrt", []string{ss})
}

// fold adds the search-vector transform of siamese.Model.FoldHead to
// embeddings y: a scale per dimension, or division by the norm for
// Cosine.
func (e *exporter) fold(y string) (string, error) {
	if e.cfg.Distance == siamese.Cosine {
		return e.b.op("", "Div", []string{y, e.norm(y)}), nil
	}
	u, _, err := e.param("out.weight")
	if err != nil {
		return "", err
	}
	s := make([]float32, len(u))
	for i, v := range u {
		a := math.Abs(float64(v))
		if e.cfg.Distance == siamese.L2 {
			a = math.Sqrt(a)
		}
		s[i] = float32(a)
	}
	return e.b.op("", "Mul", []string{y, e.b.init("search_scale", []int64{1, int64(len(s))}, s)}), nil
}
