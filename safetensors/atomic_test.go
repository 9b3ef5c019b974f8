//go:build linux || darwin

package safetensors

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fsizeChildEnv names, in a child process of TestWriteFileFailsMidway, the
// file the child is to write under a file size limit.
const fsizeChildEnv = "SAFETENSORS_TEST_FSIZE_CHILD"

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
	if path := os.Getenv(fsizeChildEnv); path != "" {
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		lim := old
		lim.Cur = fsizeLimit
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Skipf("cannot set a file size limit: %v", err)
		}
		err := WriteFile(path, newTensors, map[string]string{"v": "2"})
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		if err == nil {
			t.Fatal("WriteFile succeeded under a file size limit of " + strconv.Itoa(fsizeLimit) + " bytes")
		}
		t.Logf("WriteFile failed as it should: %v", err)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteFileFailsMidway$", "-test.v")
	cmd.Env = append(os.Environ(), fsizeChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "SKIP") {
		t.Skipf("child process skipped:\n%s", out)
	}
	if !strings.Contains(string(out), "failed as it should") {
		t.Fatalf("child process did not report the failed write:\n%s", out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "failed as it should") {
			t.Log("child:", strings.TrimSpace(l))
		}
	}
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
