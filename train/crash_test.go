package train

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/siamese"
)

// crashEnv names the checkpoint directory of a trainer subprocess started
// by TestCrashSafety; unset, TestCrashHelper does nothing.
const crashEnv = "GOSIAMESE_TRAIN_CRASH_DIR"

// crashWriteEnv, when set to a step, makes the trainer subprocess kill
// itself (SIGKILL on Unix) as soon as it sees a model file in its
// directory change after that step's start: in the middle of writing one,
// a moment too short for the parent to aim at.
const crashWriteEnv = "GOSIAMESE_TRAIN_CRASH_WRITE"

// crashRun is the run TestCrashSafety kills: the tiny setup of
// TestResumeMatchesUninterrupted over more epochs, a checkpoint at each
// epoch's end.
func crashRun(t testing.TB, dir string) (Config, *patterns, *valPairs) {
	data := newPatterns(t, 3, 4, 9)
	return Config{Epochs: 10, StepsPerEpoch: 3, BatchSize: 4, Seed: 3, Optimizer: Optimizer{LearningRate: 1e-3}, Dir: dir},
		data, newValPairs(data, 12)
}

// TestCrashHelper is the trainer subprocess of TestCrashSafety: it resumes
// the run in $GOSIAMESE_TRAIN_CRASH_DIR from its checkpoint, or starts it
// when there is none, and trains to the end.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("a subprocess of TestCrashSafety")
	}
	cfg, data, val0 := crashRun(t, dir)
	// Tell the parent where the run is: it picks its moments to kill by
	// these lines.
	var at uint64
	watchFrom, watch := uint64(0), os.Getenv(crashWriteEnv) != ""
	if watch {
		if _, err := fmt.Sscan(os.Getenv(crashWriteEnv), &watchFrom); err != nil {
			t.Fatal(err)
		}
	}
	data.onBatch = func(step uint64) {
		at = step
		fmt.Printf("step %d\n", step)
		if watch && step >= watchFrom {
			watch = false
			go killOnWrite(dir)
		}
	}
	val := &timedVal{valPairs: val0, done: func() { fmt.Printf("saving %d\n", at) }}
	last := filepath.Join(dir, "last.safetensors")
	var tr *Trainer
	if _, err := os.Stat(last); err == nil {
		if _, tr, err = Resume(last, data, val, nil); err != nil {
			t.Fatal(err)
		}
	} else {
		var err error
		if tr, err = New(smallModel(t), data, val, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// killOnWrite polls dir and kills its own process when the name, size or
// modification time of any file holding "safetensors" in its name
// changes.
func killOnWrite(dir string) {
	snapshot := func() string {
		var b strings.Builder
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.Contains(e.Name(), "safetensors") {
				continue
			}
			if info, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
			}
		}
		return b.String()
	}
	for before := snapshot(); snapshot() == before; {
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
	}
}

// timedVal calls done after each validation, which comes at an epoch's
// end just before the log, the best model and the checkpoint are written.
type timedVal struct {
	*valPairs
	done func()
}

func (v *timedVal) Logits(m *siamese.Model) ([]float64, []float64, error) {
	defer v.done()
	return v.valPairs.Logits(m)
}

// TestCrashSafety kills a training process with SIGKILL at random moments,
// checks after each kill that the checkpoint and the best model on disk
// are whole (they load as a model and resume as a run), and lets a last
// process finish the run from whatever was left: its final weights must
// equal an uninterrupted run's, bit for bit.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess training skipped in -short mode")
	}
	// The uninterrupted run, in process; it times the steps and the
	// writing of files at the epochs' ends, to place the kills.
	refDir := t.TempDir()
	cfg, data, val0 := crashRun(t, refDir)
	// writeFrom and writeTo bound, after an epoch's validation, the
	// writing of best.safetensors and last.safetensors: from the
	// modification of the last plot to that of the checkpoint.
	var writeFrom, writeTo time.Duration
	var validated time.Time
	mtime := func(f string) time.Time {
		st, err := os.Stat(filepath.Join(refDir, f))
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	rdata := *data
	rdata.onBatch = func(uint64) {
		if validated.IsZero() {
			return
		}
		from, to := mtime("roc.png").Sub(validated), mtime("last.safetensors").Sub(validated)
		if writeTo == 0 {
			writeFrom = from
		}
		writeFrom, writeTo = min(writeFrom, from), max(writeTo, to)
		validated = time.Time{}
	}
	start := time.Now()
	tr, err := New(smallModel(t), &rdata, &timedVal{val0, func() { validated = time.Now() }}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runTime := time.Since(start)

	dir := t.TempDir()
	helper := func(ctx context.Context, env ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1", "-test.timeout=2m")
		cmd.Env = append(append(os.Environ(), crashEnv+"="+dir), env...)
		return cmd
	}
	// The kill targets come from an explicit seed (GOSIAMESE_CRASH_SEED
	// overrides it to explore others); where a kill lands still depends on
	// scheduling, which is what the test is about.
	seed := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("GOSIAMESE_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	spe := uint64(cfg.StepsPerEpoch)
	total := uint64(cfg.Epochs) * spe
	perStep := runTime / time.Duration(total)
	t.Logf("kill times seeded with %d; an uninterrupted run takes %v, writing the models at an epoch's end %v to %v after validating", seed, runTime, writeFrom, writeTo)
	if writeFrom < 0 || writeTo <= writeFrom {
		writeFrom, writeTo = 0, perStep
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	type event struct {
		saving bool // validated, writing files; else starting a step
		step   uint64
	}
	interrupted, modes := 0, rng.IntN(3)
	var step uint64 // of the checkpoint on disk
	for kill := range 8 {
		// A random moment in what is left of the run, of three kinds in
		// turn: within one step's time of a
		// random step's start; in the time the models of a random epoch's
		// end are written; or, the subprocess killing itself, at the
		// first change to a model file after a random epoch's last step
		// began.
		mode := (kill + modes) % 3
		var want event
		var delay time.Duration
		var env []string
		switch mode {
		case 0:
			want = event{false, step + rng.Uint64N(total-step)}
			delay = time.Duration(rng.Float64() * float64(perStep))
		case 1:
			want = event{true, spe*(step/spe+1+rng.Uint64N(total/spe-step/spe)) - 1}
			delay = writeFrom + time.Duration(rng.Float64()*float64(writeTo-writeFrom+time.Millisecond))
		case 2:
			want = event{false, spe*(step/spe+1+rng.Uint64N(total/spe-step/spe)) - 1}
			env = append(env, fmt.Sprintf("%s=%d", crashWriteEnv, want.step))
		}
		cmd := helper(context.Background(), env...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		events := make(chan event, 2*total+2)
		go func() {
			defer close(events)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var n uint64
				if _, err := fmt.Sscanf(sc.Text(), "step %d", &n); err == nil {
					events <- event{false, n}
				} else if _, err := fmt.Sscanf(sc.Text(), "saving %d", &n); err == nil {
					events <- event{true, n}
				} else {
					out.WriteString(sc.Text() + "\n")
				}
			}
		}()
		reached := false
		for e := range events {
			if mode < 2 && e.saving == want.saving && e.step >= want.step {
				reached = true
				break
			}
		}
		if reached {
			time.Sleep(delay)
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
		}
		for range events { // to the pipe's end, before Wait
		}
		werr := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case werr != nil && (reached || mode == 2 && errors.As(werr, &exit) && exit.ExitCode() == -1):
			interrupted++ // by a signal
		case werr != nil:
			t.Fatalf("kill %d: the trainer failed before it was killed: %v\n%s", kill, werr, &out)
		}
		// Whatever the moment, the files on disk are whole.
		var epochs int
		step, epochs = checkCrashFiles(t, dir, data, val0)
		what := [3]string{"step", "writing after step", "first model write from step"}[mode]
		t.Logf("kill %d at %s %d + %v: checkpoint at step %d (%d epochs), process: %v", kill, what, want.step, delay.Round(time.Millisecond), step, epochs, werr)
		if step == total {
			break
		}
	}
	if interrupted == 0 {
		t.Fatal("no kill interrupted a run; the test proved nothing")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := helper(ctx)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the resumed run failed: %v\n%s", err, out)
	}
	for _, f := range []string{"last.safetensors", "best.safetensors"} {
		want, err := siamese.Load(filepath.Join(refDir, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := siamese.Load(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		wp := want.Network().Params()
		for i, p := range got.Network().Params() {
			a, b := p.Float32s(), wp[i].Float32s()
			for j := range a {
				if a[j] != b[j] {
					t.Fatalf("%s: %s[%d] = %g after the kills, %g uninterrupted", f, p.Name, j, a[j], b[j])
				}
			}
		}
		if got.Threshold() != want.Threshold() {
			t.Errorf("%s: threshold %v after the kills, %v uninterrupted", f, got.Threshold(), want.Threshold())
		}
	}
	_, resumed, err := Resume(filepath.Join(dir, "last.safetensors"), data, val0, nil)
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := tr.History(), resumed.History()
	if len(h1) != len(h2) {
		t.Fatalf("%d epochs logged after the kills, %d uninterrupted", len(h2), len(h1))
	}
	for i := range h1 {
		if h1[i].TrainLoss != h2[i].TrainLoss || h1[i].ValAUC != h2[i].ValAUC || h1[i].Threshold != h2[i].Threshold {
			t.Errorf("epoch %d: %+v after the kills, %+v uninterrupted", i+1, h2[i], h1[i])
		}
	}
}

// checkCrashFiles checks that the checkpoint and best model in dir, where
// present, load as models and the checkpoint resumes as a run; it returns
// the checkpoint's step and epochs (0 without one).
func checkCrashFiles(t *testing.T, dir string, data *patterns, val *valPairs) (uint64, int) {
	t.Helper()
	for _, f := range []string{"best.safetensors", "last.safetensors"} {
		path := filepath.Join(dir, f)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if _, err := siamese.Load(path); err != nil {
			t.Fatalf("%s after a kill: %v", f, err)
		}
	}
	last := filepath.Join(dir, "last.safetensors")
	if _, err := os.Stat(last); errors.Is(err, os.ErrNotExist) {
		return 0, 0
	}
	_, tr, err := Resume(last, data, val, nil)
	if err != nil {
		t.Fatalf("last.safetensors after a kill: %v", err)
	}
	if spe := uint64(tr.cfg.StepsPerEpoch); tr.Step()%spe != 0 || int(tr.Step()/spe) != len(tr.History()) {
		t.Fatalf("checkpoint at step %d with %d epochs logged", tr.Step(), len(tr.History()))
	}
	return tr.Step(), len(tr.History())
}
