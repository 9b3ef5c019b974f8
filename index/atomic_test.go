//go:build linux || darwin

package index

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/fsfail"
	"github.com/gosiamese/gosiamese/siamese"
)

// TestSaveFailsMidway makes a save fail halfway through the file, as a
// full disk would (a child process under a file size limit, see
// fsfail), and checks that the index already at the path is untouched
// and loads, and that no temporary file is left.
func TestSaveFailsMidway(t *testing.T) {
	if path, ok := fsfail.Child(); ok {
		ix, _ := small(t, siamese.Cosine)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		fsfail.WriteUnderLimit(t, uint64(st.Size()/2), func() error { return ix.Save(path) })
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "refs.index")
	ix, qs := small(t, siamese.L2)
	if err := ix.Save(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsfail.Run(t, "TestSaveFailsMidway", path)
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the index file is gone after a failed save: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("a save that failed midway changed the file: %d bytes before, %d after", len(before), len(after))
	}
	back, err := Load(path)
	if err != nil {
		t.Fatalf("the index on disk does not load after a failed save: %v", err)
	}
	if back.Metric() != siamese.L2 {
		t.Errorf("the file holds a %v index after a failed save of a cosine one", back.Metric())
	}
	if _, err := back.Search(qs[0], 3); err != nil {
		t.Error(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
