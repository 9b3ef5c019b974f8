package siamese

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newBatcher(t *testing.T, m *Model, cfg BatcherConfig) *Batcher {
	t.Helper()
	b, err := m.NewBatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// waitLen waits until b holds n queued images.
func waitLen(t *testing.T, b *Batcher, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); b.Len() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d images queued, want %d", b.Len(), n)
		}
	}
}

// TestBatcherMatchesModel: 64 goroutines embed, compare and search through
// a batcher at once (run with -race); every result is bit for bit the
// model's own, requests did share forward passes, and the model kept at
// most MaxGraphs graphs.
func TestBatcherMatchesModel(t *testing.T) {
	for _, sep := range []bool{false, true} {
		m := tinyModel(t, func(c *Config) { c.SeparateTowers = sep })
		var imgs []image.Image
		ids := make([]string, 23)
		for i := range ids {
			imgs = append(imgs, noise(uint64(300+i), 32+i%5, 40-i%6))
			ids[i] = fmt.Sprint(i)
		}
		g, err := m.NewGallery(ids, imgs)
		if err != nil {
			t.Fatal(err)
		}
		wantEmb := make([]Embedding, len(imgs))
		wantScore := make([]Score, len(imgs))
		wantTop := make([][]Match, len(imgs))
		for i := range imgs {
			if wantEmb[i], err = m.Embed(imgs[i]); err != nil {
				t.Fatal(err)
			}
			if wantScore[i], err = m.Compare(imgs[i], imgs[(i+1)%len(imgs)]); err != nil {
				t.Fatal(err)
			}
			if wantTop[i], err = g.Search(imgs[i], 3); err != nil {
				t.Fatal(err)
			}
		}
		var largest atomic.Int64
		b := newBatcher(t, m, BatcherConfig{MaxWait: 20 * time.Millisecond, OnBatch: func(n int, _ time.Duration) {
			for {
				l := largest.Load()
				if int64(n) <= l || largest.CompareAndSwap(l, int64(n)) {
					return
				}
			}
		}})
		ctx := context.Background()
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 64)
		for w := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				i := w % len(imgs)
				e, err := b.Embed(ctx, imgs[i])
				if err != nil || !equal(e, wantEmb[i]) {
					errs <- fmt.Errorf("separate %v, goroutine %d: embedding differs (err %v)", sep, w, err)
					return
				}
				s, err := b.Compare(ctx, imgs[i], imgs[(i+1)%len(imgs)])
				if err != nil || s != wantScore[i] {
					errs <- fmt.Errorf("separate %v, goroutine %d: score %v (err %v), want %v", sep, w, s, err, wantScore[i])
					return
				}
				top, err := b.Search(ctx, g, imgs[i], 3)
				if err != nil || fmt.Sprint(top) != fmt.Sprint(wantTop[i]) {
					errs <- fmt.Errorf("separate %v, goroutine %d: search %v (err %v), want %v", sep, w, top, err, wantTop[i])
					return
				}
				es, err := b.EmbedBatch(ctx, imgs[i:min(i+3, len(imgs))])
				if err != nil {
					errs <- err
					return
				}
				for j, e := range es {
					if !equal(e, wantEmb[i+j]) {
						errs <- fmt.Errorf("separate %v, goroutine %d: image %d of EmbedBatch differs", sep, w, j)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if largest.Load() < 2 {
			t.Errorf("separate %v: 64 concurrent requests ran one image at a time (largest batch %d)", sep, largest.Load())
		}
		if l := m.embedders.c.Len(); l > MaxGraphs {
			t.Errorf("separate %v: %d graphs, want at most %d", sep, l, MaxGraphs)
		}
		if n := b.Len(); n != 0 {
			t.Errorf("separate %v: %d images left in the queue", sep, n)
		}
	}
}

// TestBatcherCancel: a request whose context ends while it waits leaves
// the queue at once with the context's error.
func TestBatcherCancel(t *testing.T) {
	m := tinyModel(t, nil)
	b := newBatcher(t, m, BatcherConfig{MaxWait: time.Hour}) // a lone image would wait an hour
	img := noise(1, 32, 32)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Embed(ctx, img)
		done <- err
	}()
	waitLen(t, b, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled request still waits")
	}
	if n := b.Len(); n != 0 {
		t.Errorf("%d images queued after the cancellation, want 0", n)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := b.Compare(short, img, img); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if n := b.Len(); n != 0 {
		t.Errorf("%d images queued after the deadline, want 0", n)
	}
	if _, err := b.Embed(ctx, img); !errors.Is(err, context.Canceled) {
		t.Errorf("request with a context already cancelled: %v", err)
	}
}

// TestBatcherOverloadAndClose: a full queue turns requests away with
// ErrOverloaded; Close fails the queued ones and later ones with
// ErrClosed.
func TestBatcherOverloadAndClose(t *testing.T) {
	m := tinyModel(t, nil)
	b := newBatcher(t, m, BatcherConfig{MaxWait: time.Hour, MaxQueue: 2})
	img := noise(1, 32, 32)
	ctx := context.Background()
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := b.Embed(ctx, img)
			done <- err
		}()
	}
	waitLen(t, b, 2)
	if _, err := b.Embed(ctx, img); !errors.Is(err, ErrOverloaded) {
		t.Errorf("third request on a queue of 2: %v, want ErrOverloaded", err)
	}
	if _, err := b.EmbedBatch(ctx, []image.Image{img, nil}); err == nil {
		t.Error("a nil image was accepted")
	}
	b.Close()
	for range 2 {
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("request queued at Close: %v, want ErrClosed", err)
		}
	}
	if _, err := b.Embed(ctx, img); !errors.Is(err, ErrClosed) {
		t.Errorf("request after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestBatcherNoWait: with a negative MaxWait, a lone request runs at
// once.
func TestBatcherNoWait(t *testing.T) {
	m := tinyModel(t, nil)
	b := newBatcher(t, m, BatcherConfig{MaxWait: -1, MaxBatch: 4})
	img := noise(5, 32, 32)
	want, err := m.Embed(img)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := b.Embed(ctx, img)
	if err != nil || !equal(got, want) {
		t.Errorf("embedding differs (err %v)", err)
	}
	g := &Gallery{m: tinyModel(t, nil)}
	if _, err := b.Search(ctx, g, img, 1); err == nil {
		t.Error("a gallery of another model was accepted")
	}
}

func TestBatcherConfig(t *testing.T) {
	d := BatcherConfig{}.WithDefaults()
	if d.MaxBatch != MaxBatch || d.MaxWait != DefaultMaxWait || d.MaxQueue != DefaultMaxQueue {
		t.Errorf("defaults %+v", d)
	}
	if d := (BatcherConfig{MaxWait: -1}).WithDefaults(); d.MaxWait != 0 {
		t.Errorf("negative MaxWait became %v, want 0", d.MaxWait)
	}
	for _, c := range []BatcherConfig{{}, {MaxBatch: 1}, {MaxBatch: 8, MaxQueue: 1}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []BatcherConfig{{MaxBatch: 3}, {MaxBatch: 2 * MaxBatch}, {MaxBatch: -2}, {MaxQueue: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v was accepted", c)
		}
		if _, err := tinyModel(t, nil).NewBatcher(c); err == nil {
			t.Errorf("NewBatcher(%+v) was accepted", c)
		}
	}
}

// TestBatcherAdd: references added through a batcher are embedded by the
// second tower exactly as Gallery.Add embeds them.
func TestBatcherAdd(t *testing.T) {
	for _, sep := range []bool{false, true} {
		m := tinyModel(t, func(c *Config) { c.SeparateTowers = sep })
		imgs := testImages()
		ids := make([]string, len(imgs))
		for i := range ids {
			ids[i] = fmt.Sprint("ref", i)
		}
		want, err := m.NewGallery(ids, imgs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.NewGallery(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := newBatcher(t, m, BatcherConfig{})
		ctx := context.Background()
		if err := b.Add(ctx, got, ids, imgs); err != nil {
			t.Fatal(err)
		}
		for i := range want.embs {
			if got.ids[i] != want.ids[i] || !equal(got.embs[i], want.embs[i]) {
				t.Fatalf("separate %v: reference %d differs", sep, i)
			}
		}
		if err := b.Add(ctx, got, ids[:1], imgs[:1]); !errors.Is(err, ErrDuplicateID) {
			t.Errorf("a duplicate id: %v, want ErrDuplicateID", err)
		}
		if err := b.Add(ctx, got, ids[:2], imgs[:1]); err == nil {
			t.Error("two ids for one image were accepted")
		}
		if err := b.Add(ctx, &Gallery{m: tinyModel(t, nil)}, ids, imgs); err == nil {
			t.Error("a gallery of another model was accepted")
		}
		if got.Len() != len(imgs) {
			t.Errorf("gallery of %d after failed additions, want %d", got.Len(), len(imgs))
		}
	}
}
