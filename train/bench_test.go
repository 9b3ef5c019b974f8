package train

import (
	"context"
	"testing"

	"github.com/gosiamese/gosiamese/data"
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
