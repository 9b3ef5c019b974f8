package index_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/siamese"
)

// Build an index of a few vectors, save it, load it and search it.
func Example() {
	ids := []string{"red", "orange", "green", "teal", "blue"}
	vecs := [][]float32{{1, 0, 0}, {0.9, 0.4, 0}, {0, 1, 0}, {0, 0.8, 0.6}, {0, 0, 1}}
	ix, err := index.Build(siamese.Cosine, ids, vecs, index.Config{Lists: 2, Probe: 1})
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "index")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "colours.index")
	if err := ix.Save(path); err != nil {
		panic(err)
	}
	back, err := index.Load(path)
	if err != nil {
		panic(err)
	}
	hits, err := back.Search([]float32{1, 0.1, 0}, 2)
	if err != nil {
		panic(err)
	}
	for _, h := range hits {
		fmt.Printf("%s %.3f\n", h.ID, h.Distance)
	}
	// Output:
	// red 0.005
	// orange 0.050
}
