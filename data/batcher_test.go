package data

import (
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
)

func batchData(t *testing.T, b *Batcher, pairs []Pair, step uint64) ([]float32, []float32, []float32) {
	t.Helper()
	x, y, labels, err := b.Batch(pairs, step)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{len(pairs), 1, 12, 12}
	if !x.Shape().Eq(want) || !y.Shape().Eq(want) {
		t.Fatalf("shapes %v %v, want %v", x.Shape(), y.Shape(), want)
	}
	return x.Data().([]float32), y.Data().([]float32), labels
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

func TestBatcherDeterministic(t *testing.T) {
	ds := memoryDataset(t, 20, 3, 4, 2, 5)
	s, _ := NewPairSampler(ds, nil, 1)
	pairs := s.Next(24)
	cfg := preprocess.Config{Size: 12, Channels: 1, Norm: preprocess.UnitRange}
	b1, err := NewBatcher(ds, cfg, KochAugment(), 1, 99)
	if err != nil {
		t.Fatal(err)
	}
	b4, _ := NewBatcher(ds, cfg, KochAugment(), 4, 99)
	b4.SetCacheImages(5)
	a1, c1, l1 := batchData(t, b1, pairs, 7)
	for run := 0; run < 2; run++ { // second run partly from the cache
		a4, c4, l4 := batchData(t, b4, pairs, 7)
		if !equalBits(a1, a4) || !equalBits(c1, c4) || !equalBits(l1, l4) {
			t.Fatalf("run %d: 1 and 4 workers differ", run)
		}
	}
	for k, p := range pairs {
		if l1[k] != p.Label {
			t.Errorf("label %d = %v, want %v", k, l1[k], p.Label)
		}
	}
	a2, _, _ := batchData(t, b1, pairs, 8)
	if equalBits(a1, a2) {
		t.Error("another step gave the same augmentation")
	}
	// Same image at two positions: augmented differently.
	per := 144
	dup := []Pair{{A: 3, B: 3, Label: 1}}
	x, y, _ := batchData(t, b1, dup, 0)
	if equalBits(x[:per], y[:per]) {
		t.Error("both sides of a pair got the same distortion")
	}
}

func TestBatcherPlain(t *testing.T) {
	ds := memoryDataset(t, 16, 2, 2)
	cfg := preprocess.Config{Size: 12, Channels: 1, Norm: preprocess.UnitRange}
	b, err := NewBatcher(ds, cfg, Augment{}, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	pairs := []Pair{{0, 1, 1}, {2, 0, 0}, {3, 3, 1}}
	x, y, labels := batchData(t, b, pairs, 0)
	per := 144
	for k, p := range pairs {
		for side, idx := range [2]int{p.A, p.B} {
			img, _ := ds.Image(idx)
			want, err := preprocess.Pixels(img, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := [2][]float32{x, y}[side][k*per : (k+1)*per]
			if !equalBits(got, want) {
				t.Errorf("pair %d side %d differs from preprocess.Pixels", k, side)
			}
		}
		if labels[k] != p.Label {
			t.Errorf("label %d", k)
		}
	}
}

// failing is a Dataset whose image 2 cannot be decoded.
type failing struct{ *Memory }

func (f failing) Image(i int) (image.Image, error) {
	if i == 2 {
		return nil, errors.New("data: broken.png: unexpected EOF")
	}
	return f.Memory.Image(i)
}

func TestBatcherErrors(t *testing.T) {
	ds := failing{memoryDataset(t, 8, 2, 2)}
	cfg := preprocess.Config{Size: 8, Channels: 1}
	if _, err := NewBatcher(ds, preprocess.Config{}, Augment{}, 1, 0); err == nil {
		t.Error("invalid config: no error")
	}
	if _, err := NewBatcher(ds, cfg, Augment{Enabled: true, Scale: 2}, 1, 0); err == nil {
		t.Error("invalid augment: no error")
	}
	if _, err := NewBatcher(nil, cfg, Augment{}, 1, 0); err == nil {
		t.Error("nil dataset: no error")
	}
	for _, aug := range []Augment{{}, KochAugment()} {
		b, _ := NewBatcher(ds, cfg, aug, 2, 0)
		_, _, _, err := b.Batch([]Pair{{0, 1, 1}, {1, 2, 0}}, 0)
		if err == nil || err.Error() != "data: batch: pair 1 (B): broken.png: unexpected EOF" {
			t.Errorf("decode failure: err = %v", err)
		}
		if _, _, _, err := b.Batch([]Pair{{0, 4, 1}}, 0); err == nil || !strings.Contains(err.Error(), "pair 0") {
			t.Errorf("index out of range: err = %v", err)
		}
		if _, _, _, err := b.Batch(nil, 0); err == nil {
			t.Error("no pairs: no error")
		}
	}
}

func benchmarkBatch(b *testing.B, aug Augment, workers int) {
	var imgs []image.Image
	var classes []int
	for i := 0; i < 64; i++ {
		imgs = append(imgs, testGray(105, 105, i))
		classes = append(classes, i/4)
	}
	ds, _ := NewMemory(imgs, classes, nil)
	s, _ := NewPairSampler(ds, nil, 1)
	pairs := s.Next(32)
	bt, err := NewBatcher(ds, preprocess.Config{Size: 64, Channels: 1}, aug, workers, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, _, err := bt.Batch(pairs, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBatch32Plain(b *testing.B)   { benchmarkBatch(b, Augment{}, 0) }
func BenchmarkBatch32Augment(b *testing.B) { benchmarkBatch(b, KochAugment(), 0) }
