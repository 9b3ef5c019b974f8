package safetensors

import (
	"bytes"
	"embed"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// readOnlyFS hides io.ReaderAt from its files, so OpenFS must read them
// into memory.
type readOnlyFS struct{ fs.FS }

type readOnlyFile struct{ fs.File }

func (r readOnlyFS) Open(name string) (fs.File, error) {
	f, err := r.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return readOnlyFile{f}, nil
}

func TestOpenFS(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{F32("w", []int{2, 2}, []float32{1, 2, 3, 4})}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"models/a.safetensors": {Data: buf.Bytes()},
		"notes.txt":            {Data: []byte("these are notes, not tensors\n")},
		"models/dir":           {Mode: fs.ModeDir},
	}
	for name, fsys := range map[string]fs.FS{"MapFS": fsys, "no ReaderAt": readOnlyFS{fsys}} {
		f, err := OpenFS(fsys, "models/a.safetensors")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, shape, err := f.Float32("w")
		if err != nil || !slices.Equal(got, []float32{1, 2, 3, 4}) || !slices.Equal(shape, []int{2, 2}) || f.Metadata["k"] != "v" {
			t.Errorf("%s: read %v %v %v, metadata %v", name, got, shape, err, f.Metadata)
		}
		if err := f.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
		if _, err := OpenFS(fsys, "missing.safetensors"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: missing file: %v, want fs.ErrNotExist", name, err)
		}
		if _, err := OpenFS(fsys, "notes.txt"); !errors.Is(err, ErrNotSafetensors) || !strings.Contains(err.Error(), "notes.txt") {
			t.Errorf("%s: text file: %v, want ErrNotSafetensors naming notes.txt", name, err)
		}
		if _, err := OpenFS(fsys, "models/dir"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: directory: %v", name, err)
		}
	}
	// A file with ReadAt is read in place, any other from memory.
	for _, c := range []struct {
		fsys     fs.FS
		inMemory bool
	}{{fsys, false}, {readOnlyFS{fsys}, true}} {
		f, err := OpenFS(c.fsys, "models/a.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.r.(*bytes.Reader); ok != c.inMemory {
			t.Errorf("%T: read from %T", c.fsys, f.r)
		}
		f.Close()
	}
}

//go:embed doc.go
var embedded embed.FS

// TestOpenEmbedFS opens a file of an embed.FS (this package's doc.go, a
// Go source file) and checks it is read in place and reported as not a
// safetensors file, by name.
func TestOpenEmbedFS(t *testing.T) {
	fl, err := embedded.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if _, ok := fl.(io.ReaderAt); !ok {
		t.Errorf("embed.FS file %T has no ReadAt: OpenFS reads it into memory", fl)
	}
	if _, err := OpenFS(embedded, "doc.go"); !errors.Is(err, ErrNotSafetensors) || !strings.Contains(err.Error(), "doc.go") {
		t.Errorf("OpenFS(doc.go): %v, want ErrNotSafetensors naming doc.go", err)
	}
}
