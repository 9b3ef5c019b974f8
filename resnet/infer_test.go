//go:build !onednn

package resnet

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestInferCacheBounded: Infer keeps at most MaxInferGraphs compiled
// graphs whatever shapes it is given, and a shape whose graph was dropped
// gives the same output when compiled again.
func TestInferCacheBounded(t *testing.T) {
	checkInferCacheBounded(t, func(e *Encoder) int { return e.infer.graphs.Len() }, func(e *Encoder, x *tensor.Dense) bool {
		_, ok := e.infer.graphs.Get(fmt.Sprint(x.Shape()))
		return ok
	})
}

// TestInferRepeats: Infer's graphs keep their buffers from run to run, so
// an input run after another must give exactly what it gave before, and
// the slice Infer returned must not change when it runs again.
func TestInferRepeats(t *testing.T) {
	e, err := New(Config{Depth: 50, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	x, x2 := detTensor("repeat_a", -2, 2, 3, 3, 40, 40), detTensor("repeat_b", -2, 2, 3, 3, 40, 40)
	first, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	kept := append([]float32(nil), first...)
	other, _, err := e.Infer(x2)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	differs := false
	for i := range first {
		if math.Float32bits(first[i]) != math.Float32bits(kept[i]) {
			t.Fatalf("output %d of the first run changed to %g when Infer ran again", i, first[i])
		}
		if math.Float32bits(again[i]) != math.Float32bits(first[i]) {
			t.Fatalf("output %d: %g, then %g after another input", i, first[i], again[i])
		}
		differs = differs || other[i] != first[i]
	}
	if !differs {
		t.Fatal("two different inputs gave the same output")
	}
}
