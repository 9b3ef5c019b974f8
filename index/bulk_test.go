package index

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/siamese"
)

// photos writes n PNGs of seeded noise under dir and returns their paths.
func photos(t testing.TB, dir string, n int) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("img%02d.png", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, detrand.Image(p, 32, 32)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths = append(paths, p)
	}
	return paths
}

// TestFromBulk embeds images with bulk.Run in each format, with search
// vectors and without, builds an index of each output folder and checks
// that an exact search ranks and scores the images as the model's Gallery
// does, and that the wrong model or plain embeddings without a model are
// refused.
func TestFromBulk(t *testing.T) {
	tmp := t.TempDir()
	paths := photos(t, filepath.Join(tmp, "photos"), 12)
	m := tinyModel(t, siamese.L2, 3)
	imgs := make([]image.Image, len(paths))
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if imgs[i], err = png.Decode(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	g, err := m.NewGallery(paths, imgs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := g.Search(imgs[4], 0)
	if err != nil {
		t.Fatal(err)
	}
	qv, err := m.SearchVectors(siamese.First, imgs[4:5])
	if err != nil {
		t.Fatal(err)
	}
	var first []Hit
	for _, format := range []bulk.Format{bulk.Parquet, bulk.JSONL} {
		for _, search := range []bool{true, false} {
			name := fmt.Sprintf("%s-search-%v", format, search)
			t.Run(name, func(t *testing.T) {
				dir := filepath.Join(tmp, name)
				if _, err := bulk.Run(context.Background(), m, paths, bulk.Config{Dir: dir, Format: format, Search: search, ShardSize: 5}); err != nil {
					t.Fatal(err)
				}
				if !search {
					if _, err := FromBulk(dir, nil, Config{}); !errors.Is(err, ErrModel) {
						t.Errorf("plain embeddings without a model: %v, want ErrModel", err)
					}
				}
				if _, err := FromBulk(dir, tinyModel(t, siamese.L2, 4), Config{}); !errors.Is(err, ErrModel) {
					t.Errorf("another model: %v, want ErrModel", err)
				}
				ix, err := FromBulk(dir, m, Config{Lists: 2})
				if err != nil {
					t.Fatal(err)
				}
				if err := ix.CheckModel(m); err != nil {
					t.Fatal(err)
				}
				if err := ix.CheckModel(tinyModel(t, siamese.L2, 4)); !errors.Is(err, ErrModel) {
					t.Errorf("CheckModel of another model: %v, want ErrModel", err)
				}
				hits, err := ix.Exact(qv[0], len(paths))
				if err != nil {
					t.Fatal(err)
				}
				for r, mt := range Matches(m, hits) {
					if mt.ID != want[r].ID || mt.Index != want[r].Index {
						t.Fatalf("rank %d: %s, the gallery's %s", r, mt.ID, want[r].ID)
					}
					if d := math.Abs(float64(mt.Score - want[r].Score)); d > 1e-5 {
						t.Errorf("rank %d: score %g, the gallery's %g", r, mt.Score, want[r].Score)
					}
				}
				if first == nil {
					first = hits
				} else if !reflect.DeepEqual(hits, first) {
					t.Errorf("hits differ from the first folder's:\n%v\n%v", hits, first)
				}
			})
		}
	}
}
