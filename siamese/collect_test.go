package siamese

import (
	"image"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/internal/collecttest"
)

// TestGraphsCollected: a compiled tower graph the cache drops, and those of
// a model dropped whole, are freed with their buffers (see layers.Read).
func TestGraphsCollected(t *testing.T) {
	m := tinyModel(t, nil)
	img := []image.Image{noise(300, 32, 32)}
	if _, err := m.EmbedBatch(img); err != nil {
		t.Fatal(err)
	}
	e, ok := m.embedders.c.Get([2]int{0, 1})
	if !ok {
		t.Fatal("no graph cached for batches of 1")
	}
	evicted := collecttest.Watch(e, e.out)
	e = nil
	// Graphs for MaxGraphs other batch sizes; compiled directly, since on a
	// backend that is not batch-invariant embedding runs one image at a
	// time and would compile no other size.
	for b := 2; b <= 1<<MaxGraphs; b *= 2 {
		if _, err := m.embedder(0, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := m.embedders.c.Get([2]int{0, 1}); ok {
		t.Fatal("the graph for batches of 1 is still cached")
	}
	if err := evicted.Wait(10 * time.Second); err != nil {
		t.Errorf("the graph the cache dropped: %v", err)
	}
	last, ok := m.embedders.c.Get([2]int{0, 2})
	if !ok {
		t.Fatal("no graph cached for batches of 2")
	}
	dropped := collecttest.Watch(last, last.out)
	last, m = nil, nil
	if err := dropped.Wait(10 * time.Second); err != nil {
		t.Errorf("the graphs of a dropped model: %v", err)
	}
}
