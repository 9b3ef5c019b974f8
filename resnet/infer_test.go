//go:build !onednn

package resnet

import (
	"fmt"
	"math"
	"testing"
)

// TestInferCacheBounded: Infer keeps at most MaxInferGraphs compiled
// graphs whatever shapes it is given, and a shape whose graph was dropped
// gives the same output when compiled again.
func TestInferCacheBounded(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	x := detTensor("infer_cache", -2, 2, 1, 3, 32, 32)
	first, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprint(x.Shape())
	if _, ok := e.infer.graphs.Get(key); !ok {
		t.Fatalf("no graph under %q after Infer", key)
	}
	for n := 2; n <= MaxInferGraphs+2; n++ {
		if _, _, err := e.Infer(detTensor("infer_cache_n", -2, 2, n, 3, 32, 32)); err != nil {
			t.Fatal(err)
		}
		if got := e.infer.graphs.Len(); got > MaxInferGraphs {
			t.Fatalf("%d graphs after %d shapes, want at most %d", got, n, MaxInferGraphs)
		}
	}
	if _, ok := e.infer.graphs.Get(key); ok {
		t.Fatal("the first shape's graph outlived more recent ones")
	}
	again, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if math.Float32bits(first[i]) != math.Float32bits(again[i]) {
			t.Fatalf("output %d: %g, then %g after compiling again", i, first[i], again[i])
		}
	}
}
