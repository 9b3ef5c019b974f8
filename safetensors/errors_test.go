package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotSafetensors checks that files of other kinds are
// ErrNotSafetensors, not ErrCorrupt, and that the message names the file
// and says what a safetensors file looks like.
func TestNotSafetensors(t *testing.T) {
	lenThen := func(n uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"notes.txt", []byte("this is a text file, not a model\n")},
		{"image.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")},
		{"model.pt", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00archive/data.pkl")},
		{"array.json", lenThen(5, "[1,2]")},
		{"spaces.txt", []byte("12345678   but no header at all")},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if !errors.Is(err, ErrNotSafetensors) || errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v: want ErrNotSafetensors and not ErrCorrupt", c.name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "8-byte little-endian header length followed by '{'") {
			t.Errorf("%s: error %q should name the file and the layout", c.name, msg)
		}
	}
}

// TestShortReaderIsCorrupt checks that an input shorter than the size it
// was opened with (a truncated download behind an io.ReaderAt) is
// ErrCorrupt when the tensor data is read.
func TestShortReaderIsCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{F32("w", []int{4}, []float32{1, 2, 3, 4})}, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	f, err := NewReader(bytes.NewReader(b[:len(b)-4]), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Bytes("w")
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("error %v: want ErrCorrupt and io.ErrUnexpectedEOF naming tensor \"w\"", err)
	}
}
