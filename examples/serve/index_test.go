package main

import (
	"context"
	"image"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/siamese"
)

// indexFile builds an index file of the gallery folder's images (the
// model's search vectors, ids as the gallery names them) and returns its
// path.
func indexFile(t testing.TB, m *siamese.Model, gallery string) string {
	t.Helper()
	ids, err := galleryFiles(gallery)
	if err != nil {
		t.Fatal(err)
	}
	imgs := make([]image.Image, len(ids))
	for i, id := range ids {
		data, err := os.ReadFile(filepath.Join(gallery, filepath.FromSlash(id)))
		if err != nil {
			t.Fatal(err)
		}
		imgs[i] = decode(t, data)
	}
	vecs, err := m.SearchVectors(siamese.Second, imgs)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(m.Config().Distance, ids, vecs, index.Config{Lists: 2, Probe: 2})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := bulk.Metadata(m, true) // what index.FromBulk records
	if err != nil {
		t.Fatal(err)
	}
	ix.SetMetadata(meta)
	path := filepath.Join(t.TempDir(), "refs.index")
	if err := ix.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIndexSearch serves the same references from a gallery folder and
// from an index file and checks that searches answer alike, that added
// references go into the index, and that k 0 is refused.
func TestIndexSearch(t *testing.T) {
	m, _ := tinyModel(t)
	dir := galleryDir(t)
	_, gts := startServer(t, m, testOptions(), dir)
	s, err := newServer(m, testOptions(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.loadIndex(indexFile(t, m, dir)); err != nil {
		t.Fatal(err)
	}
	s.loaded.Store(true)
	its := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		its.Close()
		s.close()
	})
	query := stripes(t, red, 1)
	var fromGallery, fromIndex searchResponse
	req := jsonBodyOf(t, map[string]any{"image": b64(query), "k": 4})
	if code, raw := post(t, gts.Client(), gts.URL+"/v1/search", "application/json", req, &fromGallery); code != http.StatusOK {
		t.Fatalf("gallery search: %d %s", code, raw)
	}
	if code, raw := post(t, its.Client(), its.URL+"/v1/search", "application/json", req, &fromIndex); code != http.StatusOK {
		t.Fatalf("index search: %d %s", code, raw)
	}
	if len(fromIndex.Matches) != 4 || len(fromGallery.Matches) != 4 {
		t.Fatalf("index %+v, gallery %+v: want 4 matches each", fromIndex, fromGallery)
	}
	for i, g := range fromGallery.Matches {
		x := fromIndex.Matches[i]
		if x.ID != g.ID || x.Same != g.Same || math.Abs(x.Score-g.Score) > 1e-5 {
			t.Errorf("match %d: index %+v, gallery %+v", i+1, x, g)
		}
	}

	c := its.Client()
	fresh := stripes(t, green, 3)
	var added addResponse
	ct, body := multipartBody(t, []file{{"image", "new.png", fresh}}, nil)
	if code, raw := post(t, c, its.URL+"/v1/gallery", ct, body, &added); code != http.StatusOK {
		t.Fatalf("gallery: %d %s", code, raw)
	}
	if added.Added != 1 || added.References != 5 || s.index.Load().Len() != 5 {
		t.Errorf("gallery: %+v, want 1 added, 5 references in the index", added)
	}
	if code, raw := post(t, c, its.URL+"/v1/gallery", ct, body, &added); code != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "duplicate id") {
		t.Errorf("the same id again: %d %s, want 422", code, raw)
	}
	var found searchResponse
	if code, raw := post(t, c, its.URL+"/v1/search", "application/json", jsonBodyOf(t, map[string]any{"image": b64(fresh), "k": 1}), &found); code != http.StatusOK {
		t.Fatalf("search: %d %s", code, raw)
	}
	if len(found.Matches) != 1 || found.Matches[0].ID != "new.png" {
		t.Errorf("search after adding: %+v, want new.png", found.Matches)
	}
	code, raw := post(t, c, its.URL+"/v1/search", "application/json", jsonBodyOf(t, map[string]any{"image": b64(fresh), "k": 0}), nil)
	checkError(t, "k 0 from an index", code, raw, http.StatusUnprocessableEntity, "not served from an index")
	if text := scrape(t, c, its.URL); !strings.Contains(text, "serve_gallery_references 5") {
		t.Errorf("metrics do not count the index's 5 references")
	}
}

// TestIndexRun starts the command with -index and checks that it loads
// the file, and refuses a file of another model, a damaged one and
// -gallery beside -index.
func TestIndexRun(t *testing.T) {
	m, path := tinyModel(t)
	dir := galleryDir(t)
	file := indexFile(t, m, dir)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-model", path, "-index", file, "-addr", "127.0.0.1:0"}, &out, &errOut)
	}()
	for !strings.Contains(errOut.String(), "index loaded") {
		select {
		case rc := <-done:
			t.Fatalf("exit %d: %s", rc, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if rc := <-done; rc != 0 || !strings.Contains(errOut.String(), "references=4") {
		t.Errorf("exit %d, log %s", rc, errOut.String())
	}

	cut := filepath.Join(t.TempDir(), "cut.index")
	b, _ := os.ReadFile(file)
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	other := modeltest.Siamese(t, t.TempDir(), 8) // another seed
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-model", path, "-index", file, "-gallery", dir}, 2, "not both"},
		{[]string{"-model", path, "-index", cut, "-addr", "127.0.0.1:0"}, 1, "damaged index file"},
		{[]string{"-model", other, "-index", file, "-addr", "127.0.0.1:0"}, 1, "another model"},
	}
	for _, c := range cases {
		var out, errOut syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a command that starts stops
		rc := run(ctx, c.args, &out, &errOut)
		cancel()
		if rc != c.rc || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
}
