//go:build !onednn

package resnet

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/internal/collecttest"
	"gorgonia.org/tensor"
)

// TestInferGraphsCollected checks that a compiled inference graph is freed
// with its buffers once nothing holds it: one the cache evicted, and those
// of an encoder dropped whole. A graph that reads its output into a field
// of the struct holding its machine would be kept for good (layers.Read).
func TestInferGraphsCollected(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	x := detTensor("infer_collect", -2, 2, 1, 3, 32, 32)
	if _, _, err := e.Infer(x); err != nil {
		t.Fatal(err)
	}
	ig, ok := e.infer.graphs.Get(fmt.Sprint(x.Shape()))
	if !ok {
		t.Fatal("no graph cached for (1, 3, 32, 32)")
	}
	evicted := collecttest.Watch(ig, ig.out)
	ig = nil
	for n := 2; n <= MaxInferGraphs+1; n++ {
		if _, _, err := e.Infer(detTensor("infer_collect_n", -2, 2, n, 3, 32, 32)); err != nil {
			t.Fatal(err)
		}
	}
	if err := evicted.Wait(10 * time.Second); err != nil {
		t.Errorf("the graph the cache evicted: %v", err)
	}
	last, _ := e.infer.graphs.Get(fmt.Sprint(tensor.Shape{MaxInferGraphs + 1, 3, 32, 32}))
	if last == nil {
		t.Fatal("no graph cached for the last shape")
	}
	dropped := collecttest.Watch(last, last.out)
	last, e = nil, nil
	runtime.KeepAlive(e)
	if err := dropped.Wait(10 * time.Second); err != nil {
		t.Errorf("the graphs of a dropped encoder: %v", err)
	}
}
