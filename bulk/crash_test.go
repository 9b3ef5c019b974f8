package bulk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment of the subprocess TestCrashSafety starts: the output folder
// (unset, TestCrashHelper does nothing), the image folder, and when to
// kill itself: "N DURATION", DURATION after the N-th change it sees in the
// output folder (a temporary file made or renamed: a shard or the
// manifest being written, or just written).
const (
	crashDirEnv  = "GOSIAMESE_BULK_CRASH_DIR"
	crashSrcEnv  = "GOSIAMESE_BULK_CRASH_SRC"
	crashKillEnv = "GOSIAMESE_BULK_CRASH_KILL"
)

// crashConfig is the job TestCrashSafety kills: shards of 4 of the 43
// inputs, batches of 3 so that batches and shards do not line up.
func crashConfig(dir string) Config {
	return Config{Dir: dir, BatchSize: 3, ShardSize: 4, Workers: 2, Queue: 4, MaxPixels: testMaxPixels}
}

// TestCrashHelper is the subprocess of TestCrashSafety: it runs (or
// resumes) the job in $GOSIAMESE_BULK_CRASH_DIR, killing itself with
// SIGKILL as $GOSIAMESE_BULK_CRASH_KILL says.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("a subprocess of TestCrashSafety")
	}
	paths, err := Folder(os.Getenv(crashSrcEnv))
	if err != nil {
		t.Fatal(err)
	}
	m := tinyModel(t, 5)
	if kill := os.Getenv(crashKillEnv); kill != "" {
		var n int
		var d string
		if _, err := fmt.Sscan(kill, &n, &d); err != nil {
			t.Fatal(err)
		}
		delay, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		go killAfterChanges(dir, n, delay)
	}
	if _, err := Run(context.Background(), m, paths, crashConfig(dir)); err != nil {
		t.Fatal(err)
	}
}

// killAfterChanges kills its own process (SIGKILL on Unix) delay after
// the n-th change it sees in dir. Every shard a run finishes leaves a
// change (its file, the manifest), so a kill at n no greater than the
// shards left comes before the run's end, however fast the machine runs.
func killAfterChanges(dir string, n int, delay time.Duration) {
	before := snapshot(dir)
	for seen := 0; seen < n; {
		time.Sleep(20 * time.Microsecond)
		if now := snapshot(dir); now != before {
			seen, before = seen+1, now
		}
	}
	time.Sleep(delay)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
	}
}

// snapshot describes the files in dir: names, sizes and modification
// times.
func snapshot(dir string) string {
	var b strings.Builder
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
		}
	}
	return b.String()
}

// TestCrashSafety kills a job of 40 images (and 3 bad files) with SIGKILL
// at random moments, checks after each kill that every shard on disk is
// whole, and lets a last run finish the job: its shards must hold every
// image exactly once, with the vectors of an uninterrupted run bit for
// bit, and skip the bad files as that run did.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess runs skipped in -short mode")
	}
	src := images(t, t.TempDir(), 40)
	paths, err := Folder(src)
	if err != nil {
		t.Fatal(err)
	}
	refDir := t.TempDir()
	start := time.Now()
	ref, err := Run(context.Background(), tinyModel(t, 5), paths, crashConfig(refDir))
	if err != nil {
		t.Fatal(err)
	}
	runTime := time.Since(start)
	want := allRows(t, refDir)
	if len(want) != 40 || len(ref.Skipped) != 3 {
		t.Fatalf("uninterrupted run: %d rows and %d skipped, want 40 and 3", len(want), len(ref.Skipped))
	}

	dir := t.TempDir()
	helper := func(kill string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSrcEnv+"="+src, crashKillEnv+"="+kill)
		return cmd
	}
	// Kill times come from an explicit seed (GOSIAMESE_CRASH_SEED
	// overrides it); where a kill lands still depends on scheduling.
	seed := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("GOSIAMESE_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	t.Logf("kill times seeded with %d; an uninterrupted run takes %v", seed, runTime)
	interrupted := 0
	for kill := range 8 {
		// At a random change among those the shards left make: right
		// then (inside or just after a file's writing) in even runs, up
		// to a shard's time later (embedding) in odd ones.
		left := 11
		if man, err := readManifest(dir); err == nil && man != nil {
			left -= len(man.Shards)
		}
		n, delay := 1+rng.IntN(max(left-1, 1)), time.Duration(0)
		if kill%2 == 1 {
			delay = time.Duration(rng.Float64() * float64(runTime) / 11)
		}
		out, err := helper(fmt.Sprintf("%d %v", n, delay)).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit) && exit.ExitCode() == -1:
			interrupted++ // by the signal
		case err != nil:
			t.Fatalf("run %d (kill at change %d + %v): %v\n%s", kill, n, delay, err, out)
		}
		// Whatever is on disk is whole: the manifest reads, and so does
		// every shard, each holding images of its own range only.
		if _, err := readManifest(dir); err != nil {
			t.Fatalf("after kill %d: %v", kill, err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "part-*"))
		for _, f := range files {
			rows, err := ReadShard(f)
			if err != nil {
				t.Fatalf("after kill %d (at change %d + %v): %v", kill, n, delay, err)
			}
			var i int
			fmt.Sscanf(filepath.Base(f), "part-%05d", &i)
			for _, r := range rows {
				if k, _ := slices.BinarySearch(paths, r.Path); k/4 != i {
					t.Errorf("%s holds %s, input %d", f, r.Path, k)
				}
			}
		}
	}
	t.Logf("%d of 8 runs killed", interrupted)
	if interrupted < 6 {
		t.Errorf("only %d of 8 runs were killed: the kills came too late to test anything", interrupted)
	}
	if out, err := helper("").CombinedOutput(); err != nil {
		t.Fatalf("last run: %v\n%s", err, out)
	}
	got := allRows(t, dir)
	if len(got) != len(want) {
		t.Fatalf("%d rows after the kills, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Path != want[i].Path || !slices.Equal(got[i].Embedding, want[i].Embedding) {
			t.Fatalf("row %d: %s differs from the uninterrupted run's %s", i, got[i].Path, want[i].Path)
		}
	}
	man, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []Skipped
	for _, s := range man.Shards {
		skipped = append(skipped, s.Skipped...)
	}
	if !man.Complete || len(man.Shards) != 11 || !slices.Equal(skipped, ref.Skipped) {
		t.Errorf("manifest: complete %v, %d shards, skipped %v; want complete, 11 shards, skipped %v", man.Complete, len(man.Shards), skipped, ref.Skipped)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
