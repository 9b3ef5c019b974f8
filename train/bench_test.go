package train

import (
	"context"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// benchFrozen times training steps of a Siamese ResNet-18 (64x64, batch 8)
// with a frozen encoder, with and without the cached-feature fast path.
// Report: go test -run XXX -bench Frozen ./train
func benchFrozen(b *testing.B, noCache bool) {
	ds := memoryPatterns(b, 3, 5, 3)
	m, err := siamese.New(siamese.Config{
		Encoder:      resnet.Config{Depth: 18},
		Input:        preprocess.Config{Size: 64},
		FrozenStages: resnet.Stages,
	})
	if err != nil {
		b.Fatal(err)
	}
	src, err := NewSampledBatches(ds, nil, m.Config().Input, data.Augment{}, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	// Warm up: the first steps fill the cache (15 images).
	tr, err := New(m, src, nil, Config{Epochs: 1, StepsPerEpoch: 4, BatchSize: 8, NoFeatureCache: noCache})
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	tr.cfg.Epochs += b.N/4 + 1
	if err := tr.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(tr.Step()-4)*8/b.Elapsed().Seconds(), "pairs/s")
}

func BenchmarkFrozenCached(b *testing.B) { benchFrozen(b, false) }
func BenchmarkFrozenFull(b *testing.B)   { benchFrozen(b, true) }

// BenchmarkPretrain times pretraining steps as the oneshot recipe takes
// them: ResNet-50, 32x32 grey input, batch 64, 872 classes, distorted
// images, Adam. images/s counts the steps alone, without building the
// graph (ns/op includes it). Report:
// go test -run XXX -bench 'Pretrain$' -benchtime 20x ./train
// and bench/compare_pretrain.sh for the ratio to PyTorch.
func BenchmarkPretrain(b *testing.B) {
	r := OneShotRecipe()
	ds := memoryPatterns(b, 8, 4, 3)
	m, err := siamese.New(r.Model)
	if err != nil {
		b.Fatal(err)
	}
	imgs, err := NewSampledImages(ds, nil, m.Config().Input, r.Augment, r.Rotations, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	classes := fixedClasses{imgs, 872}
	cfg := *r.Pretrain
	cfg.Epochs, cfg.StepsPerEpoch = 1, 1
	p, err := NewPretrainer(m, classes, nil, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil { // warm-up and graph building
		b.Fatal(err)
	}
	p.cfg.StepsPerEpoch = b.N + 1
	b.ResetTimer()
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	// The epoch's time leaves out building the graph.
	h := p.History()
	b.ReportMetric(float64(b.N*cfg.BatchSize)/h[len(h)-1].Seconds, "images/s")
}

// fixedClasses reports k classes for a source with fewer, as a large
// dataset would.
type fixedClasses struct {
	ClassBatches
	k int
}

func (f fixedClasses) NumClasses() int { return f.k }

// BenchmarkAdamStep times one Adam update of ResNet-50's 25.6 million
// parameters. Report: go test -run XXX -bench AdamStep ./train
func BenchmarkAdamStep(b *testing.B) {
	m, err := siamese.New(OneShotRecipe().Model)
	if err != nil {
		b.Fatal(err)
	}
	var params []*layers.Param
	var grads [][]float32
	n := 0
	for _, p := range m.Network().Params() {
		if !p.State {
			params = append(params, p)
			g := make([]float32, len(p.Float32s()))
			for i := range g {
				g[i] = float32(i%7-3) * 1e-3
			}
			grads = append(grads, g)
			n += len(g)
		}
	}
	opt := newOptimizer(Optimizer{LearningRate: 1e-3}, params)
	b.ResetTimer()
	for range b.N {
		opt.step(grads, 1e-3)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e6, "Mparams/s")
}
