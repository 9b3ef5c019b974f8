package train

import (
	"fmt"

	"github.com/gosiamese/gosiamese/data"
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
	f, _, err := c.m.Encoder(tower).Infer(x)
	if err != nil {
		return nil, fmt.Errorf("image %d: %w", i, err)
	}
	c.feats[tower][i] = f
	return f, nil
}

// batch returns the encoder outputs of the pairs' images as (N, F)
// tensors, and the labels.
func (c *featureCache) batch(pairs []data.Pair) (a, b *tensor.Dense, labels []float32, err error) {
	f := c.m.EncoderOutput()
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
