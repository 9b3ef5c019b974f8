package siamese

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// watched is an image that records whether its pixels were read and
// calls onRead (once per image) when they first are.
type watched struct {
	image.Image
	read   atomic.Bool
	once   sync.Once
	onRead func()
}

func (w *watched) At(x, y int) color.Color {
	w.read.Store(true)
	w.once.Do(func() {
		if w.onRead != nil {
			w.onRead()
		}
	})
	return w.Image.At(x, y)
}

// watchedImages returns n 32x32 images; reading image trigger's pixels
// calls onRead.
func watchedImages(n, trigger int, onRead func()) []*watched {
	ws := make([]*watched, n)
	for i := range ws {
		ws[i] = &watched{Image: noise(uint64(500+i), 32, 32)}
	}
	if trigger >= 0 {
		ws[trigger].onRead = onRead
	}
	return ws
}

func asImages(ws []*watched) []image.Image {
	imgs := make([]image.Image, len(ws))
	for i, w := range ws {
		imgs[i] = w
	}
	return imgs
}

func readCount(ws []*watched) (n int, firstUnread int) {
	firstUnread = -1
	for i, w := range ws {
		if w.read.Load() {
			n++
		} else if firstUnread < 0 {
			firstUnread = i
		}
	}
	return n, firstUnread
}

// TestContextCancelledBefore checks that every context variant returns at
// once, without reading an image, when its context has already ended.
func TestContextCancelledBefore(t *testing.T) {
	m := tinyModel(t, nil)
	g, err := m.NewGallery([]string{"a"}, []image.Image{noise(1, 32, 32)})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ws := watchedImages(3, -1, nil)
	a, b, c := ws[0], ws[1], ws[2]
	calls := map[string]func(ctx context.Context) error{
		"EmbedContext": func(ctx context.Context) error { _, err := m.EmbedContext(ctx, a); return err },
		"EmbedBatchContext": func(ctx context.Context) error {
			_, err := m.EmbedBatchContext(ctx, []image.Image{a, b, c})
			return err
		},
		"CompareContext": func(ctx context.Context) error { _, err := m.CompareContext(ctx, a, b); return err },
		"CompareBatchContext": func(ctx context.Context) error {
			_, err := m.CompareBatchContext(ctx, [][2]image.Image{{a, b}, {b, c}})
			return err
		},
		"NewGalleryContext": func(ctx context.Context) error {
			_, err := m.NewGalleryContext(ctx, []string{"a", "b"}, []image.Image{a, b})
			return err
		},
		"AddContext":    func(ctx context.Context) error { return g.AddContext(ctx, []string{"c"}, []image.Image{c}) },
		"SearchContext": func(ctx context.Context) error { _, err := g.SearchContext(ctx, a, 1); return err },
	}
	past, stop := context.WithDeadline(context.Background(), noon)
	defer stop()
	for name, call := range calls {
		if err := call(cancelled); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "siamese: ") {
			t.Errorf("%s, cancelled: error %v, want context.Canceled", name, err)
		}
		if err := call(past); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s, deadline passed: error %v, want context.DeadlineExceeded", name, err)
		}
		if n, _ := readCount(ws); n != 0 {
			t.Fatalf("%s read %d images under an ended context", name, n)
		}
	}
	if g.Len() != 1 {
		t.Errorf("gallery holds %d references after a cancelled Add, want 1", g.Len())
	}
	// A live context changes nothing.
	s1, err := m.Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := m.CompareContext(context.Background(), a, b)
	if err != nil || s1 != s2 {
		t.Errorf("CompareContext %v, %v; Compare %v", s2, err, s1)
	}
}

// noon is a moment long past.
var noon = time.Date(2001, 1, 1, 12, 0, 0, 0, time.UTC)

// TestContextCancelledDuring cancels a context while the images of the
// second batch are read and checks that the call stops there: it fails
// with context.Canceled and never reads the images of the later batches.
func TestContextCancelledDuring(t *testing.T) {
	m := tinyModel(t, nil)
	const n = 4 * MaxBatch
	trigger := MaxBatch + 3 // in the second batch
	for _, c := range []struct {
		name string
		run  func(ctx context.Context, imgs []image.Image) error
	}{
		{"EmbedBatchContext", func(ctx context.Context, imgs []image.Image) error {
			_, err := m.EmbedBatchContext(ctx, imgs)
			return err
		}},
		{"NewGalleryContext", func(ctx context.Context, imgs []image.Image) error {
			ids := make([]string, len(imgs))
			for i := range ids {
				ids[i] = fmt.Sprint(i)
			}
			_, err := m.NewGalleryContext(ctx, ids, imgs)
			return err
		}},
		{"CompareBatchContext", func(ctx context.Context, imgs []image.Image) error {
			pairs := make([][2]image.Image, len(imgs)/2)
			for i := range pairs {
				pairs[i] = [2]image.Image{imgs[i], imgs[len(pairs)+i]}
			}
			_, err := m.CompareBatchContext(ctx, pairs)
			return err
		}},
	} {
		cause := errors.New("client went away")
		ctx, cancel := context.WithCancelCause(context.Background())
		ws := watchedImages(n, trigger, func() { cancel(cause) })
		err := c.run(ctx, asImages(ws))
		if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
			t.Errorf("%s: error %v, want context.Canceled and the cause", c.name, err)
		}
		want := fmt.Sprintf("stopped after %d of %d images", MaxBatch, n)
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, want)
		}
		read, first := readCount(ws)
		if read != 2*MaxBatch || first != 2*MaxBatch {
			t.Errorf("%s: read %d images, first unread %d; want the first two batches (%d) read, no more", c.name, read, first, 2*MaxBatch)
		}
		cancel(nil)
	}
}
