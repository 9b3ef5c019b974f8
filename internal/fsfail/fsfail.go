//go:build linux || darwin

// Package fsfail lets a test make a file write fail partway through, as a
// full disk would: the write runs in a child process of the test binary
// whose file size limit (RLIMIT_FSIZE) is below the file's size, so the
// failure comes from the file system after part of the file has been
// written, not from a check before writing.
package fsfail

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// env names, in the child process, the path it is to write.
const env = "GOSIAMESE_FSFAIL_PATH"

// Child reports whether this process is the child that Run started, and
// the path it is to write.
func Child() (string, bool) {
	p := os.Getenv(env)
	return p, p != ""
}

// WriteUnderLimit runs write with the file size limited to limit bytes,
// in the child, and fails the test unless write fails. The parent reads
// the "failed as it should" line it logs.
func WriteUnderLimit(t *testing.T, limit uint64, write func() error) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("cannot set a file size limit: %v", err)
	}
	err := write()
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err == nil {
		t.Fatalf("the write succeeded under a file size limit of %d bytes", limit)
	}
	t.Logf("the write failed as it should: %v", err)
}

// Run runs test (the name of the calling test) again in a child process
// that writes path under a file size limit (the child calls Child and
// WriteUnderLimit), and fails the test unless the child's write failed.
// It skips the test under -short, or where the child could not set a
// limit.
func Run(t *testing.T, test, path string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+path)
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
		t.Fatalf("child process did not report the failed write:\n%s", out)
	}
}
