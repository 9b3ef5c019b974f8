package train

import (
	"image"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/siamese"
)

// OneShotScorer returns m as an eval.Scorer: images embedded by the first
// tower, pairs scored by the model's own head, as Compare scores them.
func OneShotScorer(m *siamese.Model) eval.Scorer { return modelScorer{m} }

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
