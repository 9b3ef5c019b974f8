package train

import (
	"fmt"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// featureCache keeps each image's encoder output (per tower) in memory.
// A frozen encoder in a training graph is the same function as in
// inference (BatchNorm on running statistics, no Dropout in the encoder),
// so the outputs are computed once with the encoder's inference graph.
type featureCache struct {
	m     *siamese.Model
	src   FeatureSource
	feats [2]map[int][]float32
}

func newFeatureCache(m *siamese.Model, src FeatureSource) *featureCache {
	return &featureCache{m: m, src: src, feats: [2]map[int][]float32{{}, {}}}
}

func (c *featureCache) get(tower, i int) ([]float32, error) {
	if !c.m.Config().SeparateTowers {
		tower = 0
	}
	if f, ok := c.feats[tower][i]; ok {
		return f, nil
	}
	x, err := c.src.Input(i)
	if err != nil {
		return nil, err
	}
	f, _, err := c.m.Network().Encoder(siamese.Tower(tower)).Infer(x)
	if err != nil {
		return nil, fmt.Errorf("image %d: %w", i, err)
	}
	c.feats[tower][i] = f
	return f, nil
}

// fillBatch is the number of images fill encodes in one inference pass.
const fillBatch = 32

// fill computes the missing encoder outputs of the pairs' images several
// at a time, when the matrix products make an image's output independent
// of the batch it is in (layers.BatchInvariant); get does the rest one by
// one.
func (c *featureCache) fill(pairs []data.Pair) error {
	if !layers.BatchInvariant() {
		return nil
	}
	for tower := range 2 {
		t := tower
		if !c.m.Config().SeparateTowers {
			t = 0
		}
		var missing []int
		seen := map[int]bool{}
		for _, p := range pairs {
			i := p.A
			if tower == 1 {
				i = p.B
			}
			if _, ok := c.feats[t][i]; !ok && !seen[i] {
				seen[i] = true
				missing = append(missing, i)
			}
		}
		for len(missing) > 0 {
			chunk := missing[:min(fillBatch, len(missing))]
			missing = missing[len(chunk):]
			var xs []float32
			var shape tensor.Shape
			for _, i := range chunk {
				x, err := c.src.Input(i)
				if err != nil {
					return err
				}
				shape = x.Shape()
				xs = append(xs, x.Data().([]float32)...)
			}
			shape = append(tensor.Shape{len(chunk)}, shape[1:]...)
			out, _, err := c.m.Network().Encoder(siamese.Tower(t)).Infer(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(xs)))
			if err != nil {
				return fmt.Errorf("images %v: %w", chunk, err)
			}
			per := len(out) / len(chunk)
			for k, i := range chunk {
				c.feats[t][i] = out[k*per : (k+1)*per : (k+1)*per]
			}
		}
	}
	return nil
}

// batch returns the encoder outputs of the pairs' images as (N, F)
// tensors, and the labels.
func (c *featureCache) batch(pairs []data.Pair) (a, b *tensor.Dense, labels []float32, err error) {
	if err := c.fill(pairs); err != nil {
		return nil, nil, nil, err
	}
	f := c.m.Network().EncoderOutputSize()
	av := make([]float32, 0, len(pairs)*f)
	bv := make([]float32, 0, len(pairs)*f)
	for _, p := range pairs {
		fa, err := c.get(0, p.A)
		if err != nil {
			return nil, nil, nil, err
		}
		fb, err := c.get(1, p.B)
		if err != nil {
			return nil, nil, nil, err
		}
		av, bv = append(av, fa...), append(bv, fb...)
		labels = append(labels, p.Label)
	}
	a = tensor.New(tensor.WithShape(len(pairs), f), tensor.WithBacking(av))
	b = tensor.New(tensor.WithShape(len(pairs), f), tensor.WithBacking(bv))
	return a, b, labels, nil
}
