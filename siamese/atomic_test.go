//go:build linux || darwin

package siamese

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/fsfail"
)

// TestSaveFailsMidway makes a save fail halfway through the file, as a
// full disk would, and checks that the model already at the path is
// untouched and loads. The save runs in a child process whose file size
// limit (RLIMIT_FSIZE) is half the model file's size, so the failure comes
// from the file system after part of the file has been written, not from
// a check before writing (TestSaveIsAtomic).
func TestSaveFailsMidway(t *testing.T) {
	if path, ok := fsfail.Child(); ok {
		m := tinyModel(t, func(c *Config) { c.Seed = 4 })
		if err := m.SetThreshold(0.8); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		fsfail.WriteUnderLimit(t, uint64(st.Size()/2), func() error { return m.Save(path) })
		return
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	m := tinyModel(t, nil)
	if err := m.SetThreshold(0.3); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsfail.Run(t, "TestSaveFailsMidway", path)
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the model file is gone after a failed save: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("a save that failed midway changed the model on disk: %d bytes before, %d after", len(before), len(after))
	}
	l, err := Load(path)
	if err != nil {
		t.Fatalf("the model on disk does not load after a failed save: %v", err)
	}
	if th := l.Threshold(); th != 0.3 {
		t.Errorf("threshold %g after a failed save, want the old model's 0.3", th)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the folder holds %v after a failed save, want only model.safetensors", names)
	}
}
