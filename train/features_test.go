package train

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// memoryPatterns returns the generated patterns as a data.Dataset.
func memoryPatterns(t testing.TB, classes, perClass int, seed uint64) data.Dataset {
	t.Helper()
	p := newPatterns(t, classes, perClass, seed)
	imgs := make([]image.Image, len(p.images))
	copy(imgs, p.images)
	names := make([]string, classes)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	ds, err := data.NewMemory(imgs, p.classes, names)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func frozenModel(t testing.TB) *siamese.Model {
	t.Helper()
	m, err := siamese.New(siamese.Config{
		Encoder:      resnet.Config{Depth: 18, Width: 8},
		Hidden:       []int{32, 16},
		Input:        preprocess.Config{Size: 32},
		FrozenStages: resnet.Stages,
		Seed:         5,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFrozenFastPath: with a frozen encoder the cached-feature run trains
// the same head as the full graph does, and never touches the encoder.
func TestFrozenFastPath(t *testing.T) {
	ds := memoryPatterns(t, 3, 5, 3)
	cfg := Config{Epochs: 2, StepsPerEpoch: 5, BatchSize: 6, Seed: 2, Optimizer: Optimizer{LearningRate: 1e-3}}
	run := func(noCache bool) *siamese.Model {
		m := frozenModel(t)
		src, err := NewSampledBatches(ds, nil, m.Config().Input, data.Augment{}, 2, 9)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.NoFeatureCache = noCache
		tr, err := New(m, src, nil, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tr.frozenFastPath(); ok == noCache {
			t.Fatalf("fast path %v with NoFeatureCache %v", ok, noCache)
		}
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	fast, full := run(false), run(true)
	start := frozenModel(t)
	fp, sp := full.Network().Params(), start.Network().Params()
	for i, p := range fast.Network().Params() {
		a, b, s := p.Float32s(), fp[i].Float32s(), sp[i].Float32s()
		var d, mag float64
		moved := false
		for j := range a {
			d = max(d, math.Abs(float64(a[j]-b[j])))
			mag = max(mag, math.Abs(float64(b[j])))
			moved = moved || a[j] != s[j]
		}
		encoder := len(p.Name) > 8 && p.Name[:8] == "encoder."
		if encoder && moved {
			t.Errorf("%s changed although the encoder is frozen", p.Name)
		}
		if !encoder && !moved {
			t.Errorf("%s did not train", p.Name)
		}
		if d > 1e-4*max(mag, 1e-3) {
			t.Errorf("%s: cached-feature training differs from full training by %.3g (max %.3g)", p.Name, d, mag)
		}
	}
}
