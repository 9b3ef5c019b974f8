package train

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/siamese"
)

// OneShotScorer returns m as an eval.Scorer: images embedded by the first
// tower, pairs scored by the model's own head, as Compare scores them.
func OneShotScorer(m *siamese.Model) eval.Scorer { return modelScorer{m} }

// TTAScorer returns OneShotScorer(m) with test-time augmentation
// (eval.Augmented): each image is embedded as the mean of its own
// embedding and those of copies-1 copies distorted by aug. The j-th copy's
// distortion is drawn from a generator keyed by seed and j alone, so every
// image gets the same copies-1 distortions, in any batch. With copies 1 it
// is OneShotScorer(m); more copies need an enabled, valid aug. On
// Omniglot, aug = data.KochAugment() (the recipes' training distortions)
// and 16 copies were chosen on held-out background classes (see the
// README's ablation table).
func TTAScorer(m *siamese.Model, aug data.Augment, copies int, seed uint64) (eval.Scorer, error) {
	if m == nil {
		return nil, errors.New("train: test-time augmentation: nil model")
	}
	if copies > 1 {
		if !aug.Enabled {
			return nil, errors.New("train: test-time augmentation: the distortion is not enabled")
		}
		if err := aug.Validate(); err != nil {
			return nil, fmt.Errorf("train: test-time augmentation: %w", err)
		}
	}
	s, err := eval.Augmented(OneShotScorer(m), copies, func(img image.Image, j int) image.Image {
		return aug.Apply(img, rand.New(rand.NewPCG(seed^0x747461, uint64(j)))) // "tta"
	})
	if err != nil {
		return nil, fmt.Errorf("train: test-time augmentation: %w", err)
	}
	return s, nil
}

type modelScorer struct{ m *siamese.Model }

func (s modelScorer) Embed(imgs []image.Image) ([][]float32, error) {
	return embed(s.m, imgs)
}

func (s modelScorer) Score(a, b []float32) (float64, error) {
	sc, err := s.m.ScoreEmbeddings(a, b)
	return float64(sc), err
}

// distanceScorer scores pairs by the negated distance of their
// embeddings, unweighted: the output layer is left out.
type distanceScorer struct{ m *siamese.Model }

func (s distanceScorer) Embed(imgs []image.Image) ([][]float32, error) {
	return embed(s.m, imgs)
}

func (s distanceScorer) Score(a, b []float32) (float64, error) {
	d, err := s.m.Config().Distance.Between(a, b)
	return -d, err
}

func embed(m *siamese.Model, imgs []image.Image) ([][]float32, error) {
	es, err := m.EmbedBatch(imgs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out, nil
}
