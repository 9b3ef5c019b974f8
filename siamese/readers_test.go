package siamese

import (
	"bytes"
	"errors"
	"image"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestWriteToAndLoadFromReaders writes a model to memory, loads it back
// from an io.ReaderAt and from two fs.FS kinds, and checks that the bytes
// are Save's and that every copy scores bit-identically.
func TestWriteToAndLoadFromReaders(t *testing.T) {
	m := tinyModel(t, func(c *Config) { c.SeparateTowers = true })
	for i, p := range m.Network().Params() {
		for j := range p.Float32s() {
			p.Float32s()[j] += float32((i+2*j)%5) * 0.02
		}
	}
	if err := m.SetThreshold(0.61); err != nil {
		t.Fatal(err)
	}
	m.SetInfo("data", "noise")
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes, %v; buffer holds %d", n, err, buf.Len())
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, buf.Bytes()) {
		t.Errorf("WriteTo wrote %d bytes unlike Save's %d", buf.Len(), len(saved))
	}
	data := buf.Bytes()
	mapFS := fstest.MapFS{"models/m.safetensors": {Data: data}}
	loaded := map[string]func() (*Model, error){
		"LoadReaderAt":    func() (*Model, error) { return LoadReaderAt(bytes.NewReader(data), int64(len(data))) },
		"LoadFS(MapFS)":   func() (*Model, error) { return LoadFS(mapFS, "models/m.safetensors") },
		"LoadFS(DirFS)":   func() (*Model, error) { return LoadFS(os.DirFS(dir), "model.safetensors") },
		"Load (the path)": func() (*Model, error) { return Load(path) },
	}
	imgs := testImages()
	var pairs [][2]image.Image
	for i := range imgs {
		pairs = append(pairs, [2]image.Image{imgs[i], imgs[(i+1)%len(imgs)]})
	}
	want, err := m.CompareBatch(pairs)
	if err != nil {
		t.Fatal(err)
	}
	for name, load := range loaded {
		l, err := load()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := l.CompareBatch(pairs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
				t.Errorf("%s: pair %d scores %v, the saved model %v", name, i, got[i], want[i])
			}
		}
		if l.Threshold() != 0.61 || l.Info()["data"] != "noise" || !l.Config().SeparateTowers {
			t.Errorf("%s: threshold %v, info %v, config %+v not restored", name, l.Threshold(), l.Info(), l.Config())
		}
	}
	for name, read := range map[string]func() (Header, error){
		"ReadHeaderReaderAt": func() (Header, error) { return ReadHeaderReaderAt(bytes.NewReader(data), int64(len(data))) },
		"ReadHeaderFS":       func() (Header, error) { return ReadHeaderFS(mapFS, "models/m.safetensors") },
	} {
		h, err := read()
		if err != nil || h.Threshold != 0.61 || h.Info["data"] != "noise" || !h.Config.SeparateTowers {
			t.Errorf("%s: %+v, %v", name, h, err)
		}
	}
}

// TestReaderErrors checks that the errors of the reader and fs.FS loaders
// name the file (an io.ReaderAt's is "input") and tell the kinds apart as
// Load's do.
func TestReaderErrors(t *testing.T) {
	var buf bytes.Buffer
	if _, err := tinyModel(t, nil).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	text := []byte("these are my notes, not a model\n")
	fsys := fstest.MapFS{
		"cut.safetensors": {Data: buf.Bytes()[:buf.Len()/3]},
		"notes.txt":       {Data: text},
	}
	for _, c := range []struct {
		name string
		err  error
		kind error
		says string
	}{
		{"LoadReaderAt(text)", second(LoadReaderAt(bytes.NewReader(text), int64(len(text)))), ErrNotModel, "not a model file"},
		{"LoadFS(text)", second(LoadFS(fsys, "notes.txt")), ErrNotModel, "notes.txt"},
		{"ReadHeaderFS(text)", second(ReadHeaderFS(fsys, "notes.txt")), ErrNotModel, "notes.txt"},
		{"LoadFS(cut)", second(LoadFS(fsys, "cut.safetensors")), ErrDamaged, "cut.safetensors"},
		// The reader holds less than the size given: the header checks
		// pass, reading the last tensor fails.
		{"LoadReaderAt(short)", second(LoadReaderAt(bytes.NewReader(buf.Bytes()[:buf.Len()-10]), int64(buf.Len()))), ErrDamaged, "input"},
		{"LoadFS(missing)", second(LoadFS(fsys, "missing.safetensors")), fs.ErrNotExist, "missing.safetensors"},
	} {
		if !errors.Is(c.err, c.kind) || !strings.Contains(fmtErr(c.err), c.says) {
			t.Errorf("%s: error %v, want %v naming %q", c.name, c.err, c.kind, c.says)
		}
	}
	// A writer that fails: WriteTo reports it and the bytes it took.
	w := &shortWriter{room: 100}
	n, err := tinyModel(t, nil).WriteTo(w)
	if !errors.Is(err, io.ErrShortWrite) || n != 100 {
		t.Errorf("WriteTo a full writer: %d bytes, %v; want 100 bytes and io.ErrShortWrite", n, err)
	}
}

func second[T any](_ T, err error) error { return err }

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// shortWriter takes room bytes, then fails.
type shortWriter struct{ room int }

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) > w.room {
		n := w.room
		w.room = 0
		return n, io.ErrShortWrite
	}
	w.room -= len(p)
	return len(p), nil
}
