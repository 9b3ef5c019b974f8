//go:build linux || darwin

package siamese

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// saveChildEnv names, in a child process of TestSaveFailsMidway, the model
// file the child is to overwrite under a file size limit.
const saveChildEnv = "SIAMESE_TEST_SAVE_CHILD"

// TestSaveFailsMidway makes a save fail halfway through the file, as a
// full disk would, and checks that the model already at the path is
// untouched and loads. The save runs in a child process whose file size
// limit (RLIMIT_FSIZE) is half the model file's size, so the failure comes
// from the file system after part of the file has been written, not from
// a check before writing (TestSaveIsAtomic).
func TestSaveFailsMidway(t *testing.T) {
	if path := os.Getenv(saveChildEnv); path != "" {
		m := tinyModel(t, func(c *Config) { c.Seed = 4 })
		if err := m.SetThreshold(0.8); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		lim := old
		lim.Cur = uint64(st.Size() / 2)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Skipf("cannot set a file size limit: %v", err)
		}
		err = m.Save(path)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		if err == nil {
			t.Fatalf("Save succeeded under a file size limit of %d bytes", lim.Cur)
		}
		t.Logf("Save failed as it should: %v", err)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestSaveFailsMidway$", "-test.v")
	cmd.Env = append(os.Environ(), saveChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "SKIP") {
		t.Skipf("child process skipped:\n%s", out)
	}
	reported := false
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "failed as it should") {
			t.Log("child:", strings.TrimSpace(l))
			reported = true
		}
	}
	if !reported {
		t.Fatalf("child process did not report the failed save:\n%s", out)
	}
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
