package resnet

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// checkInferCacheBounded runs Infer on an encoder for more input shapes
// than MaxInferGraphs and checks, through the build's cache (count: how
// many it holds; held: whether it holds x's), that it keeps at most that
// many, that the first shape's entry is dropped, and that the first shape
// gives the same bits when built again.
func checkInferCacheBounded(t *testing.T, count func(*Encoder) int, held func(*Encoder, *tensor.Dense) bool) {
	t.Helper()
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	x := detTensor("infer_cache", -2, 2, 1, 3, 32, 32)
	first, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	if !held(e, x) {
		t.Fatalf("nothing cached for %v after Infer", x.Shape())
	}
	for n := 2; n <= MaxInferGraphs+2; n++ {
		if _, _, err := e.Infer(detTensor("infer_cache_n", -2, 2, n, 3, 32, 32)); err != nil {
			t.Fatal(err)
		}
		if got := count(e); got > MaxInferGraphs {
			t.Fatalf("%d cached after %d shapes, want at most %d", got, n, MaxInferGraphs)
		}
	}
	if held(e, x) {
		t.Fatal("the first shape's entry outlived more recent ones")
	}
	again, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if math.Float32bits(first[i]) != math.Float32bits(again[i]) {
			t.Fatalf("output %d: %g, then %g after building again", i, first[i], again[i])
		}
	}
}
