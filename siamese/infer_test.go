package siamese

import (
	"bytes"
	"context"
	"fmt"
	"gorgonia.org/tensor"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"sync"
	"testing"
)

func testImages() []image.Image {
	return []image.Image{
		noise(1, 40, 40), noise(2, 50, 36), ramp(32, 32, colorRed), ramp(70, 40, colorBlue),
		noise(3, 33, 45), ramp(40, 64, colorRed), noise(4, 32, 32),
	}
}

// TestSameScoreAnyBatch: a pair scores the same alone, in a batch, at any
// position, and every time.
func TestSameScoreAnyBatch(t *testing.T) {
	m := tinyModel(t, nil)
	imgs := testImages()
	var pairs [][2]image.Image
	for i := range imgs {
		pairs = append(pairs, [2]image.Image{imgs[i], imgs[(i+2)%len(imgs)]})
	}
	batch, err := m.CompareBatch(pairs)
	if err != nil {
		t.Fatal(err)
	}
	reversed := make([][2]image.Image, len(pairs))
	for i := range pairs {
		reversed[len(pairs)-1-i] = pairs[i]
	}
	rev, err := m.CompareBatch(reversed)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		alone, err := m.Compare(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		again, _ := m.Compare(p[0], p[1])
		if alone != batch[i] || alone != rev[len(pairs)-1-i] || alone != again {
			t.Errorf("pair %d: alone %v, again %v, in batch %v, reversed batch %v", i, alone, again, batch[i], rev[len(pairs)-1-i])
		}
	}
	// More pairs than one forward pass holds.
	var many [][2]image.Image
	for len(many) < MaxBatch+3 {
		many = append(many, pairs...)
	}
	scores, err := m.CompareBatch(many)
	if err != nil {
		t.Fatal(err)
	}
	for i := range many {
		if scores[i] != batch[i%len(pairs)] {
			t.Fatalf("pair %d of a large batch: %v, want %v", i, scores[i], batch[i%len(pairs)])
		}
	}
}

// TestImageKinds: every common image type goes through the model's own
// preprocessing, in RGB and in greyscale models.
func TestImageKinds(t *testing.T) {
	base := noise(5, 40, 40)
	gray := image.NewGray(base.Bounds())
	gray16 := image.NewGray16(base.Bounds())
	pal := image.NewPaletted(base.Bounds(), color.Palette{color.Black, color.White, colorRed, colorBlue})
	cmyk := image.NewCMYK(base.Bounds())
	rgba64 := image.NewRGBA64(base.Bounds())
	alpha := image.NewNRGBA(base.Bounds())
	for y := range 40 {
		for x := range 40 {
			c := base.NRGBAAt(x, y)
			gray.Set(x, y, c)
			gray16.Set(x, y, c)
			pal.Set(x, y, c)
			cmyk.Set(x, y, c)
			rgba64.Set(x, y, c)
			c.A = uint8(x * 6)
			alpha.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, base, nil); err != nil {
		t.Fatal(err)
	}
	ycc, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []image.Image{gray, gray16, pal, cmyk, rgba64, alpha, ycc}
	for _, channels := range []int{3, 1} {
		m := tinyModel(t, func(c *Config) { c.Input.Channels = channels })
		for i, img := range kinds {
			s, err := m.Compare(img, base)
			if err != nil {
				t.Errorf("channels %d, image kind %d (%T): %v", channels, i, img, err)
				continue
			}
			if s < 0 || s > 1 {
				t.Errorf("channels %d, %T: score %v outside [0, 1]", channels, img, s)
			}
		}
	}
	m := tinyModel(t, nil)
	if _, err := m.Compare(nil, base); err == nil {
		t.Error("a nil image was accepted")
	}
	if _, err := m.Compare(image.NewNRGBA(image.Rect(0, 0, 0, 0)), base); err == nil {
		t.Error("an empty image was accepted")
	}
	if _, err := m.ScoreEmbeddings(Embedding{1, 2}, Embedding{1, 2}); err == nil {
		t.Error("embeddings of the wrong length were accepted")
	}
}

func TestGallery(t *testing.T) {
	m := tinyModel(t, nil)
	imgs := testImages()
	ids := make([]string, len(imgs))
	for i := range ids {
		ids[i] = fmt.Sprintf("ref%d", i)
	}
	g, err := m.NewGallery(ids, imgs)
	if err != nil {
		t.Fatal(err)
	}
	matches, err := g.Search(imgs[3], 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 3 || matches[0].ID != "ref3" {
		t.Fatalf("top match %+v, want ref3 first of 3", matches)
	}
	for i := 1; i < len(matches); i++ {
		if matches[i].Score > matches[i-1].Score {
			t.Errorf("matches not sorted: %+v", matches)
		}
	}
	// Gallery scores equal direct comparisons.
	all, err := g.Search(imgs[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(imgs) {
		t.Fatalf("%d matches for k=0, want all %d", len(all), len(imgs))
	}
	for _, mt := range all {
		s, err := m.Compare(imgs[0], imgs[mt.Index])
		if err != nil {
			t.Fatal(err)
		}
		if s != mt.Score {
			t.Errorf("%s: gallery score %v, Compare %v", mt.ID, mt.Score, s)
		}
	}
	if err := g.Add([]string{"ref0"}, imgs[:1]); err == nil {
		t.Error("a duplicate id was accepted")
	}
	if err := g.Add([]string{"x", "y"}, imgs[:1]); err == nil {
		t.Error("two ids for one image were accepted")
	}
}

// TestConcurrentUse scores, embeds and searches from 64 goroutines at
// once (run with -race) and compares with serial results.
func TestConcurrentUse(t *testing.T) {
	m := tinyModel(t, nil)
	imgs := testImages()
	ids := make([]string, len(imgs))
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	g, err := m.NewGallery(ids, imgs)
	if err != nil {
		t.Fatal(err)
	}
	wantScore := make([]Score, len(imgs))
	wantTop := make([]string, len(imgs))
	for i := range imgs {
		if wantScore[i], err = m.Compare(imgs[i], imgs[(i+1)%len(imgs)]); err != nil {
			t.Fatal(err)
		}
		top, err := g.Search(imgs[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		wantTop[i] = top[0].ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, 128)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := w % len(imgs)
			s, err := m.Compare(imgs[i], imgs[(i+1)%len(imgs)])
			if err != nil || s != wantScore[i] {
				errs <- fmt.Errorf("goroutine %d: score %v (err %v), want %v", w, s, err, wantScore[i])
				return
			}
			top, err := g.Search(imgs[i], 1)
			if err != nil || top[0].ID != wantTop[i] {
				errs <- fmt.Errorf("goroutine %d: search %v (err %v), want %s", w, top, err, wantTop[i])
				return
			}
			if _, err := m.EmbedBatch(imgs[:1+w%3]); err != nil {
				errs <- err
			}
			_ = m.Threshold()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEmbedAnyBatch: an image's embedding is the same alone (a batch of
// one) and at any position of any batch size.
func TestEmbedAnyBatch(t *testing.T) {
	for _, sep := range []bool{false, true} {
		m := tinyModel(t, func(c *Config) { c.SeparateTowers = sep })
		var imgs []image.Image
		for i := range MaxBatch + 5 {
			imgs = append(imgs, noise(uint64(100+i), 32+i%9, 40-i%7))
		}
		alone := make([]Embedding, len(imgs))
		for i, img := range imgs {
			e, err := m.Embed(img)
			if err != nil {
				t.Fatal(err)
			}
			alone[i] = e
		}
		for n := 2; n <= len(imgs); n += 3 {
			for _, off := range []int{0, len(imgs) - n} {
				es, err := m.EmbedBatch(imgs[off : off+n])
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range es {
					if !equal(e, alone[off+i]) {
						t.Fatalf("separate %v: image %d differs in a batch of %d at position %d", sep, off+i, n, i)
					}
				}
			}
		}
	}
}

// TestConcurrentEncoderInfer: the encoder's own Infer, compiling graphs
// for new batch sizes, runs at the same time as the model scores with the
// same parameters (run with -race).
func TestConcurrentEncoderInfer(t *testing.T) {
	m := tinyModel(t, nil)
	imgs := testImages()
	want, err := m.Compare(imgs[0], imgs[1])
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if s, err := m.Compare(imgs[0], imgs[1]); err != nil || s != want {
				errs <- fmt.Errorf("score %v (err %v), want %v", s, err, want)
			}
		}()
		go func() {
			defer wg.Done()
			x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(w+1, 3, 32, 32))
			if _, _, err := m.Network().Encoder(0).Infer(x); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestGraphCacheBounded: whatever batch sizes and towers a model is asked
// for, it keeps at most MaxGraphs compiled graphs, towers that share
// weights share them, and a graph dropped and compiled again gives the
// same embeddings.
func TestGraphCacheBounded(t *testing.T) {
	for _, sep := range []bool{false, true} {
		m := tinyModel(t, func(c *Config) { c.SeparateTowers = sep })
		var imgs []image.Image
		for i := range MaxBatch {
			imgs = append(imgs, noise(uint64(200+i), 32, 32))
		}
		first, err := m.EmbedBatch(imgs)
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= MaxBatch; n++ {
			if _, err := m.EmbedBatch(imgs[:n]); err != nil {
				t.Fatal(err)
			}
			m.mu.RLock()
			_, err := m.embedImages(context.Background(), 1, imgs[:n]) // the second tower
			m.mu.RUnlock()
			if err != nil {
				t.Fatal(err)
			}
			if got := m.embedders.c.Len(); got > MaxGraphs {
				t.Fatalf("separate %v: %d graphs after batches up to %d, want at most %d", sep, got, n, MaxGraphs)
			}
		}
		if _, err := m.EmbedBatch(imgs[:15]); err != nil { // batches of 8, 4, 2 and 1
			t.Fatal(err)
		}
		keys := 0
		for _, tower := range []int{0, 1} {
			for _, b := range []int{1, 2, 4, 8, 16} {
				if _, ok := m.embedders.c.Get([2]int{tower, b}); ok {
					keys++
					if tower == 1 && !sep {
						t.Fatalf("shared towers compiled a graph of their own for the second tower (batch %d)", b)
					}
				}
			}
		}
		if keys != m.embedders.c.Len() {
			t.Fatalf("separate %v: %d graphs under (tower, power-of-two batch) keys of %d", sep, keys, m.embedders.c.Len())
		}
		if _, ok := m.embedders.c.Get([2]int{0, 16}); ok {
			t.Fatalf("separate %v: the batch-16 graph outlived four more recently used ones", sep)
		}
		again, err := m.EmbedBatch(imgs) // compiled again
		if err != nil {
			t.Fatal(err)
		}
		for i := range first {
			if !equal(first[i], again[i]) {
				t.Fatalf("separate %v: image %d differs after its graph was compiled again", sep, i)
			}
		}
	}
}

// TestLogit checks that Logit is the log-odds of ScoreEmbeddings for every
// distance, and linear in the distance: the mean of two pairs' logits is
// bias minus the weighted mean distance.
func TestLogit(t *testing.T) {
	for _, d := range []Distance{L1, L2, Cosine} {
		m := tinyModel(t, func(c *Config) { c.Distance = d })
		es, err := m.EmbedBatch([]image.Image{noise(1, 20, 20), noise(2, 20, 20), noise(3, 20, 20)})
		if err != nil {
			t.Fatal(err)
		}
		a, b, c := es[0], es[1], es[2]
		z, err := m.Logit(a, b)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := m.ScoreEmbeddings(a, b)
		if got := 1 / (1 + math.Exp(-z)); math.Abs(got-float64(s)) > 1e-12 {
			t.Errorf("%v: sigmoid(Logit) %v, ScoreEmbeddings %v", d, got, s)
		}
		if d == Cosine {
			zc, _ := m.Logit(a, c)
			same, _ := m.Logit(a, a)
			dab, _ := Cosine.Between(a, b)
			dac, _ := Cosine.Between(a, c)
			// same is the bias (distance 0); the slope is (same - z)/dab.
			slope := (same - z) / dab
			if want := same - slope*(dab+dac)/2; math.Abs((z+zc)/2-want) > 1e-9 {
				t.Errorf("cosine: mean logit %v, logit of the mean distance %v", (z+zc)/2, want)
			}
		}
		if _, err := m.Logit(a, b[:1]); err == nil {
			t.Errorf("%v: embeddings of different lengths were accepted", d)
		}
	}
}
