// Package collecttest checks in tests that objects are garbage collected:
// that a dropped graph, with its machine and buffers, is freed rather than
// kept alive by a reference cycle through an object with a finalizer (Go
// never collects such a cycle).
package collecttest

import (
	"fmt"
	"runtime"
	"time"
)

// Watcher waits for the objects given to Watch to be collected.
type Watcher struct {
	done  chan int
	n     int
	names []string
}

// Watch attaches a cleanup to each pointer in ptrs (each must point to an
// object of its own allocation, not into another one). The caller must
// drop its own references before Wait.
func Watch(ptrs ...any) *Watcher {
	w := &Watcher{done: make(chan int, len(ptrs)), n: len(ptrs)}
	for i, p := range ptrs {
		w.names = append(w.names, fmt.Sprintf("%T", p))
		add(p, w.done, i)
	}
	return w
}

// Wait runs the collector until every watched object was collected, or
// the timeout passes; it returns an error naming those still alive.
func (w *Watcher) Wait(timeout time.Duration) error {
	seen := make([]bool, w.n)
	left := w.n
	deadline := time.Now().Add(timeout)
	for left > 0 {
		if time.Now().After(deadline) {
			var alive []string
			for i, s := range seen {
				if !s {
					alive = append(alive, w.names[i])
				}
			}
			return fmt.Errorf("still alive after %v of collections: %v", timeout, alive)
		}
		runtime.GC()
		select {
		case i := <-w.done:
			if !seen[i] {
				seen[i] = true
				left--
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
