package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/siamese"
)

// recipeOneShot draws the one-shot tasks that choose the epoch of a
// recipe's pretraining and metric learning: 20-way (fewer ways when fewer
// validation classes with two images exist; recorded in rep.ValWays),
// r.ValEpisodes episodes (default 10), and
// never fewer than make 200 tasks.
func recipeOneShot(r Recipe, ds data.Dataset, valIdx []int, rep *FitReport, seed uint64) (*OneShotValidation, error) {
	ways := min(20, data.CountPairableClasses(ds, valIdx))
	rep.ValWays = ways
	episodes := r.ValEpisodes
	if episodes == 0 {
		episodes = 10
	}
	// Few held-out classes make small episodes: keep 200 tasks at
	// least, so that the choice of epoch is not left to noise.
	episodes = max(episodes, (200+ways-1)/ways)
	return NewOneShotValidation(ds, valIdx, ways, episodes, seed)
}

// fitMetric runs a recipe's metric learning stage on m, resuming it from
// its checkpoint when opts say so, and returns its history.
func fitMetric(ctx context.Context, r Recipe, m *siamese.Model, ds data.Dataset, trainIdx []int, val *OneShotValidation, opts FitOptions) ([]PretrainEpoch, error) {
	c := r.Metric.WithDefaults()
	imgs, err := NewClassBalancedImages(ds, trainIdx, m.Config().Input, r.Augment, r.Rotations, c.P, c.M, opts.Workers, opts.Seed)
	if err != nil {
		return nil, err
	}
	if !opts.NoImageCache {
		imgs.Batcher().SetCacheImages(len(trainIdx))
	}
	c.Seed, c.Dir, c.Progress = opts.Seed, opts.Dir, opts.Progress
	mt, err := NewMetricTrainer(m, imgs, val, c)
	if err != nil {
		return nil, err
	}
	if ckpt := filepath.Join(opts.Dir, MetricCheckpoint); opts.Resume && exists(ckpt) {
		if err := mt.Resume(ckpt); err != nil {
			return nil, err
		}
		progressf(opts.Progress, "resuming metric learning from %s at step %d\n", ckpt, mt.Step())
	}
	err = mt.Run(ctx)
	return mt.History(), err
}

// retrievalImages is the most held-out images heldOutRetrieval embeds.
const retrievalImages = 1000

// heldOutRetrieval measures m's embeddings on the held-out images valIdx
// (a sample of retrievalImages, drawn by seed, when there are more): each
// image is the query of all the others, ranked by the towers' distance
// unweighted (as the one-shot validation ranks them), for recall@1 and
// @5, precision@1 and MAP@R. It returns nil when no held-out class has
// two images.
func heldOutRetrieval(m *siamese.Model, ds data.Dataset, valIdx []int, seed uint64) (*eval.Retrieval, error) {
	idx := slices.Clone(valIdx)
	if len(idx) > retrievalImages {
		rng := rand.New(rand.NewPCG(seed, 0x72657472696576)) // "retriev"
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		idx = idx[:retrievalImages]
		slices.Sort(idx)
	}
	if len(idx) < 2 {
		return nil, nil
	}
	imgs := make([]image.Image, len(idx))
	classes := make([]int, len(idx))
	for k, i := range idx {
		img, err := ds.Image(i)
		if err != nil {
			return nil, fmt.Errorf("train: retrieval: %s: %w", ds.Name(i), err)
		}
		imgs[k], classes[k] = img, ds.Class(i)
	}
	r, err := eval.RetrievalImages(distanceScorer{m}, imgs, classes, 1, 5)
	if errors.Is(err, eval.ErrEmpty) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &r, nil
}

// BestOneShot returns the best validation one-shot accuracy of a stage's
// epochs (pretraining or metric learning), or NaN when none was measured.
func BestOneShot(h []PretrainEpoch) float64 {
	best := math.NaN()
	for _, e := range h {
		if !math.IsNaN(e.ValOneShot) && !(e.ValOneShot <= best) {
			best = e.ValOneShot
		}
	}
	return best
}
