package train

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/siamese"
)

// OneShotScorer returns m as an eval.Scorer: images embedded by the first
// tower, pairs scored by the model's own head, as Compare scores them.
func OneShotScorer(m *siamese.Model) eval.Scorer { return modelScorer{m} }

// TTAScorer returns OneShotScorer(m) with test-time augmentation:
// TTA{Copies: copies, Augment: aug, Seed: seed}.Scorer(m).
func TTAScorer(m *siamese.Model, aug data.Augment, copies int, seed uint64) (eval.Scorer, error) {
	return TTA{Copies: copies, Augment: aug, Seed: seed}.Scorer(m)
}

// TTA configures test-time augmentation for one-shot matching: what
// TTA.Scorer embeds for each image, and how it compares two. The zero TTA
// is none: TTA{}.Scorer(m) is OneShotScorer(m).
type TTA struct {
	// Copies is the number of embeddings whose mean stands for an image
	// (eval.Augmented): the image itself and Copies-1 copies distorted by
	// Augment. 0 or 1: the image alone. On Omniglot 16 copies were chosen
	// on held-out background classes, 8 with QuarterTurns (README).
	Copies int
	// Augment distorts the copies; it must be enabled and valid when Copies
	// is above 1. On Omniglot, data.KochAugment(), the recipes' training
	// distortions.
	Augment data.Augment
	// QuarterTurns compares two images turn by turn as well (eval.Views):
	// each image is embedded as itself and turned by one, two and three
	// quarter turns (each turn with its Copies), the first image's turn t
	// is compared with the second's turn t, and the pair's score is the
	// head's score of the mean of the four turns' distances. It is meant
	// for models pretrained on quarter turns as classes of their own
	// (Recipe.Rotations), which tell a turned character from another; it
	// costs four times the embeddings.
	QuarterTurns bool
	// Seed keys the copies' distortions: the j-th copy of every image is
	// distorted by a generator keyed by Seed and j alone, so an image
	// embeds the same in any batch.
	Seed uint64
	// Ensemble holds other encoders of the model's training run, such as
	// its last pretraining epoch (PretrainCheckpoint) beside the epoch it
	// kept, to compare images with alongside the model's (eval.Ensemble):
	// each image is embedded by every encoder (each with the copies and
	// turns above), and a pair's score is the model's head of the mean of
	// the encoders' distances. Their own heads are not used, so an encoder
	// that was never given a head (a pretraining checkpoint) serves; each
	// must embed in as many values as the model. It costs one embedding
	// per encoder.
	Ensemble []*siamese.Model
}

// Validate reports whether t can be used.
func (t TTA) Validate() error {
	if t.Copies < 0 {
		return fmt.Errorf("train: test-time augmentation: %d copies", t.Copies)
	}
	if t.Copies > 1 {
		if !t.Augment.Enabled {
			return errors.New("train: test-time augmentation: the distortion is not enabled")
		}
		if err := t.Augment.Validate(); err != nil {
			return fmt.Errorf("train: test-time augmentation: %w", err)
		}
	}
	return nil
}

// Scorer returns m as an eval.Scorer with t's test-time augmentation.
// Pairs are scored by m's head, so scores stay in [0, 1]; they were
// calibrated without augmentation, and are meant for ranking (one-shot
// tasks) rather than as probabilities.
func (t TTA) Scorer(m *siamese.Model) (eval.Scorer, error) {
	if m == nil {
		return nil, errors.New("train: test-time augmentation: nil model")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	for i, e := range t.Ensemble {
		if e == nil {
			return nil, fmt.Errorf("train: test-time augmentation: ensemble encoder %d is nil", i)
		}
	}
	// With turns or an ensemble, pairs are scored by their logits, whose
	// mean is the logit of the mean distance; sigmoidScorer maps it back.
	logits := t.QuarterTurns || len(t.Ensemble) > 0
	var members []eval.Scorer
	for _, enc := range append([]*siamese.Model{m}, t.Ensemble...) {
		var base eval.Scorer = modelScorer{m}
		if logits {
			base = logitScorer{enc: enc, head: m}
		}
		s, err := eval.Augmented(base, max(t.Copies, 1), func(img image.Image, j int) image.Image {
			return t.Augment.Apply(img, rand.New(rand.NewPCG(t.Seed^0x747461, uint64(j)))) // "tta"
		})
		if err != nil {
			return nil, fmt.Errorf("train: test-time augmentation: %w", err)
		}
		if t.QuarterTurns {
			if s, err = eval.Views(s, 4, data.RotateQuarter); err != nil {
				return nil, fmt.Errorf("train: test-time augmentation: %w", err)
			}
		}
		members = append(members, s)
	}
	if !logits {
		return members[0], nil
	}
	s, err := eval.Ensemble(members...)
	if err != nil {
		return nil, fmt.Errorf("train: test-time augmentation: %w", err)
	}
	return sigmoidScorer{s}, nil
}

// logitScorer embeds images by enc and scores pairs by head's log-odds;
// with enc == head it is modelScorer with log-odds for scores.
type logitScorer struct{ enc, head *siamese.Model }

func (s logitScorer) Embed(imgs []image.Image) ([][]float32, error) {
	return embed(s.enc, imgs)
}

func (s logitScorer) Score(a, b []float32) (float64, error) {
	return s.head.Logit(a, b)
}

// sigmoidScorer maps a Scorer's log-odds to probabilities.
type sigmoidScorer struct{ eval.Scorer }

func (s sigmoidScorer) Score(a, b []float32) (float64, error) {
	z, err := s.Scorer.Score(a, b)
	if err != nil {
		return 0, err
	}
	return numeric.Sigmoid(z), nil
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
