package data

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
)

func TestSplitClasses(t *testing.T) {
	ds := memoryDataset(t, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3) // 10 classes of 3
	train, val := SplitClasses(ds, 0.3, 7)
	if len(val) != 9 || len(train) != 21 {
		t.Fatalf("train %d val %d, want 21 and 9", len(train), len(val))
	}
	inVal := map[int]bool{}
	for _, i := range val {
		inVal[ds.Class(i)] = true
	}
	seen := map[int]bool{}
	for _, i := range train {
		if inVal[ds.Class(i)] {
			t.Errorf("class %d in both train and val", ds.Class(i))
		}
		seen[i] = true
	}
	for _, i := range val {
		seen[i] = true
	}
	if len(seen) != ds.Len() {
		t.Errorf("train and val cover %d of %d images", len(seen), ds.Len())
	}
	for k := 1; k < len(train); k++ {
		if train[k] <= train[k-1] {
			t.Fatal("train not sorted")
		}
	}
	t2, v2 := SplitClasses(ds, 0.3, 7)
	if !reflect.DeepEqual(train, t2) || !reflect.DeepEqual(val, v2) {
		t.Error("same seed gave a different split")
	}
	differs := false
	for seed := uint64(8); seed < 12; seed++ {
		_, v := SplitClasses(ds, 0.3, seed)
		differs = differs || !reflect.DeepEqual(v, val)
	}
	if !differs {
		t.Error("four other seeds all gave the same split")
	}
	// Edge fractions.
	if tr, v := SplitClasses(ds, 0, 1); len(tr) != 30 || len(v) != 0 {
		t.Errorf("fraction 0: %d/%d", len(tr), len(v))
	}
	if tr, v := SplitClasses(ds, 1, 1); len(tr) != 0 || len(v) != 30 {
		t.Errorf("fraction 1: %d/%d", len(tr), len(v))
	}
	if tr, v := SplitClasses(ds, 0.001, 1); len(tr) != 27 || len(v) != 3 {
		t.Errorf("tiny fraction: %d/%d, want one class in val", len(tr), len(v))
	}
	if tr, v := SplitClasses(ds, 0.999, 1); len(tr) != 3 || len(v) != 27 {
		t.Errorf("fraction near 1: %d/%d, want one class in train", len(tr), len(v))
	}
}

// samplerFixture: class 0 has one image, classes 1..3 have 2, 3, 5.
func samplerFixture(t *testing.T) *Memory {
	return memoryDataset(t, 2, 1, 2, 3, 5)
}

func TestPairSampler(t *testing.T) {
	ds := samplerFixture(t)
	s, err := NewPairSampler(ds, nil, 42)
	if err != nil {
		t.Fatal(err)
	}
	pairs := s.Next(2000)
	pos, neg := 0, 0
	negClass0 := false
	for k, p := range pairs {
		ca, cb := ds.Class(p.A), ds.Class(p.B)
		if want := float32(1 - k%2); p.Label != want {
			t.Fatalf("pair %d label %v, want %v (alternating)", k, p.Label, want)
		}
		if p.Label == 1 {
			pos++
			if p.A == p.B || ca != cb || ca == 0 {
				t.Fatalf("bad positive %v (classes %d %d)", p, ca, cb)
			}
		} else {
			neg++
			if ca == cb {
				t.Fatalf("negative %v within class %d", p, ca)
			}
			negClass0 = negClass0 || ca == 0 || cb == 0
		}
	}
	if pos != neg {
		t.Errorf("%d positives, %d negatives", pos, neg)
	}
	if !negClass0 {
		t.Error("the single-image class never appears in a negative")
	}

	// Deterministic, however Next is called.
	s2, _ := NewPairSampler(ds, []int{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 3}, 42)
	got := append(s2.Next(3), s2.Next(997)...)
	got = append(got, s2.Next(1000)...)
	if !reflect.DeepEqual(got, pairs) {
		t.Error("same seed and images gave other pairs")
	}
	s3, _ := NewPairSampler(ds, nil, 43)
	if reflect.DeepEqual(s3.Next(50), pairs[:50]) {
		t.Error("another seed gave the same pairs")
	}
}

func TestPairSamplerRestore(t *testing.T) {
	ds := samplerFixture(t)
	s, _ := NewPairSampler(ds, nil, 5)
	s.Next(11)
	st := s.State()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := s.Next(40)

	var st2 SamplerState
	if err := json.Unmarshal(b, &st2); err != nil {
		t.Fatal(err)
	}
	r, _ := NewPairSampler(ds, nil, 5)
	if err := r.Restore(st2); err != nil {
		t.Fatal(err)
	}
	if got := r.Next(40); !reflect.DeepEqual(got, want) {
		t.Error("restored sampler gave other pairs")
	}
	if r.State().Drawn != 51 {
		t.Errorf("drawn = %d, want 51", r.State().Drawn)
	}
	other, _ := NewPairSampler(ds, nil, 6)
	if err := other.Restore(st); err == nil {
		t.Error("restore with another seed: no error")
	}
	sub, _ := NewPairSampler(ds, []int{1, 2, 3, 4, 5}, 5)
	if err := sub.Restore(st); err == nil {
		t.Error("restore over other images: no error")
	}
}

func TestPairSamplerErrors(t *testing.T) {
	ds := samplerFixture(t)
	if _, err := NewPairSampler(ds, []int{0, 1, 3}, 1); err == nil {
		t.Error("no class with two images: no error")
	}
	if _, err := NewPairSampler(ds, []int{1, 2}, 1); err == nil {
		t.Error("one class: no error")
	}
	if _, err := NewPairSampler(ds, []int{1, 2, 11}, 1); err == nil {
		t.Error("index out of range: no error")
	}
	if _, err := NewPairSampler(nil, nil, 1); err == nil {
		t.Error("nil dataset: no error")
	}
	if _, err := FixedPairs(ds, []int{0}, 4, 1); err == nil {
		t.Error("FixedPairs on one image: no error")
	}
}

func TestFixedPairs(t *testing.T) {
	ds := samplerFixture(t)
	a, err := FixedPairs(ds, nil, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FixedPairs(ds, nil, 64, 3)
	if !reflect.DeepEqual(a, b) || len(a) != 64 {
		t.Error("FixedPairs differs between calls")
	}
	for k, p := range a {
		if p.Label != float32(1-k%2) || (p.Label == 1) != (ds.Class(p.A) == ds.Class(p.B)) || p.A == p.B {
			t.Fatalf("pair %d: %v", k, p)
		}
	}
	s, _ := NewPairSampler(ds, nil, 3)
	if reflect.DeepEqual(s.Next(64), a) {
		t.Error("FixedPairs repeats the training stream of the same seed")
	}
}

// TestSplitPairs: the split is stratified by label, seeded and a
// partition that keeps the pairs' order.
func TestSplitPairs(t *testing.T) {
	var pairs []Pair
	for i := range 20 {
		pairs = append(pairs, Pair{A: i, B: i + 1, Label: float32(i % 4 / 3)}) // 5 positives, 15 negatives
	}
	tr, va, err := SplitPairs(pairs, 0.2, 3)
	if err != nil {
		t.Fatal(err)
	}
	tr2, va2, _ := SplitPairs(pairs, 0.2, 3)
	_, va3, _ := SplitPairs(pairs, 0.2, 4)
	pos := 0
	for _, p := range va {
		pos += int(p.Label)
	}
	if len(tr) != 16 || len(va) != 4 || pos != 1 || !slices.Equal(va, va2) || !slices.Equal(tr, tr2) || slices.Equal(va, va3) {
		t.Errorf("split: %d train, %d val (%d positive), same seed same split %v, other seed other split %v",
			len(tr), len(va), pos, slices.Equal(va, va2), !slices.Equal(va, va3))
	}
	seen := map[int]bool{}
	for _, s := range [][]Pair{tr, va} {
		for k, p := range s {
			if seen[p.A] || k > 0 && p.A < s[k-1].A {
				t.Fatalf("pair %d twice or out of order", p.A)
			}
			seen[p.A] = true
		}
	}
	if len(seen) != len(pairs) {
		t.Errorf("%d of %d pairs in the split", len(seen), len(pairs))
	}
	if _, _, err := SplitPairs(pairs[:4], 0.2, 1); err == nil {
		t.Error("one positive pair: no error")
	}
}

func TestCountClasses(t *testing.T) {
	ds := memoryDataset(t, 4, 2, 0, 3, 1)
	if n := CountClasses(ds, nil); n != 3 {
		t.Errorf("all: %d classes, want 3 (one class has no images)", n)
	}
	if n := CountClasses(ds, []int{0, 1, 5}); n != 2 {
		t.Errorf("images 0, 1, 5: %d classes, want 2", n)
	}
	if n := CountPairableClasses(ds, nil); n != 2 {
		t.Errorf("all: %d classes with two images, want 2", n)
	}
	if n := CountPairableClasses(ds, []int{0, 2, 3, 5}); n != 1 {
		t.Errorf("images 0, 2, 3, 5: %d classes with two images, want 1", n)
	}
}

func TestSplitImages(t *testing.T) {
	ds := memoryDataset(t, 4, 10, 10, 10, 1) // classes of 10, 10, 10 and 1 images
	train, val := SplitImages(ds, nil, 0.2, 3)
	perClass := map[int]int{}
	seen := map[int]bool{}
	for _, i := range val {
		perClass[ds.Class(i)]++
		seen[i] = true
	}
	// 20% of 10 images is 2 per class; the class of one image keeps it
	// for training.
	if want := map[int]int{0: 2, 1: 2, 2: 2}; !reflect.DeepEqual(perClass, want) {
		t.Errorf("validation images per class %v, want %v", perClass, want)
	}
	for _, i := range train {
		if seen[i] {
			t.Errorf("image %d in both sets", i)
		}
		seen[i] = true
	}
	if len(seen) != ds.Len() {
		t.Errorf("the sets cover %d of %d images", len(seen), ds.Len())
	}
	for _, s := range [][]int{train, val} {
		for k := 1; k < len(s); k++ {
			if s[k] <= s[k-1] {
				t.Fatal("a set is not sorted")
			}
		}
	}
	t2, v2 := SplitImages(ds, nil, 0.2, 3)
	if !reflect.DeepEqual(train, t2) || !reflect.DeepEqual(val, v2) {
		t.Error("same seed gave a different split")
	}
	differs := false
	for seed := uint64(4); seed < 8; seed++ {
		_, v := SplitImages(ds, nil, 0.2, seed)
		differs = differs || !reflect.DeepEqual(v, val)
	}
	if !differs {
		t.Error("four other seeds all gave the same split")
	}
	// A tiny fraction still holds two images of each class of four or
	// more, one of a class of two or three.
	_, v := SplitImages(ds, nil, 0.001, 3)
	if len(v) != 6 {
		t.Errorf("fraction 0.001: %d validation images, want 6 (two per class of 10)", len(v))
	}
	if _, v := SplitImages(memoryDataset(t, 4, 3, 2, 1), nil, 0.001, 3); len(v) != 2 {
		t.Errorf("classes of 3, 2 and 1, fraction 0.001: %d validation images, want 2", len(v))
	}
	if tr, v := SplitImages(ds, nil, math.NaN(), 3); len(v) != 0 || len(tr) != ds.Len() {
		t.Errorf("fraction NaN: %d validation images, want 0", len(v))
	}
	// A subset: only the listed images, once each, and the same split of
	// a class whatever else is listed.
	sub := []int{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 12, 99, -1}
	tr, v := SplitImages(ds, sub, 0.2, 3)
	if len(tr) != 8 || len(v) != 2 {
		t.Errorf("subset: %d training and %d validation images, want 8 and 2", len(tr), len(v))
	}
	_, all := SplitImages(ds, nil, 0.2, 3)
	for _, i := range v {
		if !slices.Contains(all, i) {
			t.Errorf("subset: validation image %d is not held out when all images are listed", i)
		}
	}
}
