package train

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// SampledBatches draws balanced training pairs from a labelled dataset:
// pair k of the run comes from a generator keyed by the seed and k, so
// step s always gets pairs s*n ... s*n+n-1, whatever happened before.
type SampledBatches struct {
	sampler *data.PairSampler
	batcher *data.Batcher
	ds      data.Dataset
	input   preprocess.Config
	aug     data.Augment
}

// NewSampledBatches samples pairs from the images of ds listed in indices
// (nil: all), decodes, augments (aug; the zero value does nothing) and
// preprocesses them with input, the model's preprocessing, on workers
// goroutines.
func NewSampledBatches(ds data.Dataset, indices []int, input preprocess.Config, aug data.Augment, workers int, seed uint64) (*SampledBatches, error) {
	s, err := data.NewPairSampler(ds, indices, seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	b, err := data.NewBatcher(ds, input, aug, workers, seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &SampledBatches{sampler: s, batcher: b, ds: ds, input: input, aug: aug}, nil
}

// Pairs implements FeatureSource.
func (s *SampledBatches) Pairs(step uint64, n int) ([]data.Pair, error) {
	st := s.sampler.State()
	st.Drawn = step * uint64(n)
	if err := s.sampler.Restore(st); err != nil {
		return nil, err
	}
	return s.sampler.Next(n), nil
}

// Input implements FeatureSource.
func (s *SampledBatches) Input(i int) (*tensor.Dense, error) {
	img, err := s.ds.Image(i)
	if err != nil {
		return nil, err
	}
	px, err := preprocess.Pixels(img, s.input)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.ds.Name(i), err)
	}
	in := s.input.WithDefaults()
	return tensor.New(tensor.WithShape(1, in.Channels, in.Size, in.Size), tensor.WithBacking(px)), nil
}

// Augmenting implements FeatureSource.
func (s *SampledBatches) Augmenting() bool { return s.aug.Enabled }

// Batcher returns the batcher, to set its image cache.
func (s *SampledBatches) Batcher() *data.Batcher { return s.batcher }

// Batch implements Batches.
func (s *SampledBatches) Batch(step uint64, n int) (a, b *tensor.Dense, labels []float32, err error) {
	pairs, err := s.Pairs(step, n)
	if err != nil {
		return nil, nil, nil, err
	}
	return s.batcher.Batch(pairs, step)
}

// ListBatches draws training batches from a fixed list of labelled pairs
// (a pairs CSV): step s takes n pairs chosen by a generator keyed by the
// seed and s.
type ListBatches struct {
	pairs   []data.Pair
	batcher *data.Batcher
	seed    uint64
}

// NewListBatches trains on pairs of images of ds.
func NewListBatches(ds data.Dataset, pairs []data.Pair, input preprocess.Config, aug data.Augment, workers int, seed uint64) (*ListBatches, error) {
	if len(pairs) == 0 {
		return nil, errors.New("train: no training pairs")
	}
	b, err := data.NewBatcher(ds, input, aug, workers, seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &ListBatches{pairs: pairs, batcher: b, seed: seed}, nil
}

// Batch implements Batches.
func (l *ListBatches) Batch(step uint64, n int) (a, b *tensor.Dense, labels []float32, err error) {
	rng := rand.New(rand.NewPCG(l.seed, step))
	ps := make([]data.Pair, n)
	for i := range ps {
		ps[i] = l.pairs[rng.IntN(len(l.pairs))]
	}
	return l.batcher.Batch(ps, step)
}

// PairValidation scores a fixed list of pairs of a dataset, embedding each
// distinct image once per evaluation through the model's own
// preprocessing (as a user's Compare call would).
type PairValidation struct {
	pairs  []data.Pair
	images []image.Image
	index  map[int]int // dataset index -> position in images
}

// NewPairValidation decodes the images of pairs once and keeps them.
func NewPairValidation(ds data.Dataset, pairs []data.Pair) (*PairValidation, error) {
	if len(pairs) == 0 {
		return nil, errors.New("train: no validation pairs")
	}
	v := &PairValidation{pairs: pairs, index: map[int]int{}}
	for _, p := range pairs {
		for _, i := range []int{p.A, p.B} {
			if _, ok := v.index[i]; ok {
				continue
			}
			img, err := ds.Image(i)
			if err != nil {
				return nil, fmt.Errorf("train: validation: %w", err)
			}
			v.index[i] = len(v.images)
			v.images = append(v.images, img)
		}
	}
	return v, nil
}

// Pairs returns the validation pairs.
func (v *PairValidation) Pairs() []data.Pair { return v.pairs }

// Logits implements Validation.
func (v *PairValidation) Logits(m *siamese.Model) (logits, labels []float64, err error) {
	first, err := m.EmbedBatch(v.images)
	if err != nil {
		return nil, nil, err
	}
	second := first
	if m.Config().SeparateTowers {
		if second, err = m.Network().EmbedImages(siamese.Second, v.images); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range v.pairs {
		z, err := m.Network().Logit(first[v.index[p.A]], second[v.index[p.B]])
		if err != nil {
			return nil, nil, err
		}
		logits = append(logits, z)
		labels = append(labels, float64(p.Label))
	}
	return logits, labels, nil
}

// Scores returns the model's score (the probability that a pair is the
// same, as Compare gives it) and the label of every pair.
func (v *PairValidation) Scores(m *siamese.Model) (scores, labels []float64, err error) {
	logits, labels, err := v.Logits(m)
	if err != nil {
		return nil, nil, err
	}
	scores = make([]float64, len(logits))
	for i, z := range logits {
		scores[i] = numeric.Sigmoid(z)
	}
	return scores, labels, nil
}

// Batcher returns the batcher, to set its image cache.
func (l *ListBatches) Batcher() *data.Batcher { return l.batcher }
