//go:build onednn

package resnet

import (
	"math"
	"runtime"
	"testing"
)

// TestInferNetsBounded: under the onednn tag Infer keeps at most
// MaxInferGraphs oneDNN nets whatever shapes it is given, and a shape
// whose net was dropped gives the same bits when built again.
func TestInferNetsBounded(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	x := detTensor("infer_cache", -2, 2, 1, 3, 32, 32)
	first, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	key := dnnlKey{shape: [4]int{1, 3, 32, 32}, nthr: runtime.GOMAXPROCS(0)}
	if _, ok := e.dnnl.nets.Get(key); !ok {
		t.Fatal("no net after Infer")
	}
	for n := 2; n <= MaxInferGraphs+2; n++ {
		if _, _, err := e.Infer(detTensor("infer_cache_n", -2, 2, n, 3, 32, 32)); err != nil {
			t.Fatal(err)
		}
		if got := e.dnnl.nets.Len(); got > MaxInferGraphs {
			t.Fatalf("%d nets after %d shapes, want at most %d", got, n, MaxInferGraphs)
		}
	}
	if _, ok := e.dnnl.nets.Get(key); ok {
		t.Fatal("the first shape's net outlived more recent ones")
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
