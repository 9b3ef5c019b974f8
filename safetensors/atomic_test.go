//go:build linux || darwin

package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/fsfail"
)

// fsizeLimit is the child's file size limit: a write to any file stops
// with an error (EFBIG) once it reaches this many bytes, a small part of
// the new file.
const fsizeLimit = 16 << 10

// TestWriteFileFailsMidway makes a write fail halfway through the data,
// as a full disk would, and checks that the file already at the path is
// untouched and no temporary file is left. The write runs in a child
// process whose file size limit (RLIMIT_FSIZE) is far below the new
// file's size, so the failure comes from the file system after part of
// the file has been written, not from input validation.
func TestWriteFileFailsMidway(t *testing.T) {
	newTensors := []Tensor{F32("big", []int{64, 1024}, make([]float32, 64*1024)), F32("w", []int{3}, []float32{4, 5, 6})}
	if path, ok := fsfail.Child(); ok {
		fsfail.WriteUnderLimit(t, fsizeLimit, func() error {
			return WriteFile(path, newTensors, map[string]string{"v": "2"})
		})
		return
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(path, []Tensor{F32("a", []int{2}, []float32{1, 2})}, map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsfail.Run(t, "TestWriteFileFailsMidway", path)
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the file is gone after a failed write: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("a write that failed midway changed the file at the path: %d bytes before, %d after", len(before), len(after))
	}
	f, err := Open(path)
	if err != nil {
		t.Fatalf("the file does not read after a failed write: %v", err)
	}
	if v := f.Metadata["v"]; v != "1" {
		t.Errorf("metadata v = %q after a failed write, want the old file's 1", v)
	}
	f.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the folder holds %v after a failed write, want only m.safetensors", names)
	}
}
