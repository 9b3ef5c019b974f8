package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeIdx writes n 28x28 digits (class k draws a bar at row 3k) and their
// labels as gzipped idx files.
func writeIdx(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	var imgs, labels bytes.Buffer
	binary.Write(&imgs, binary.BigEndian, []uint32{0x803, uint32(n), 28, 28})
	binary.Write(&labels, binary.BigEndian, []uint32{0x801, uint32(n)})
	for i := range n {
		k := i % 4
		px := make([]byte, 28*28)
		for x := 2; x < 26; x++ {
			px[(3+5*k)*28+x] = 255
			px[(4+5*k)*28+x] = byte(200 + i%50)
		}
		imgs.Write(px)
		labels.WriteByte(byte(k))
	}
	for name, b := range map[string][]byte{prefix + "-images-idx3-ubyte.gz": imgs.Bytes(), prefix + "-labels-idx1-ubyte.gz": labels.Bytes()} {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(b)
		w.Close()
		if err := os.WriteFile(filepath.Join(dir, name), z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMNISTEndToEnd trains by the default recipe, quick (ResNet-50), at
// a tiny budget and checks the report and the files.
func TestMNISTEndToEnd(t *testing.T) {
	dir := t.TempDir()
	writeIdx(t, dir, "train", 160)
	writeIdx(t, dir, "t10k", 20)
	out := filepath.Join(dir, "run")
	var stdout, stderr bytes.Buffer
	rc := run(context.Background(), []string{"-data", dir, "-pretrain-epochs", "1", "-pretrain-steps", "2", "-pair-epochs", "1", "-test-pairs", "8", "-out", out}, &stdout, &stderr)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	for _, want := range []string{"recipe quick:", "trained on 152 images of 4 classes (8 images of 4 classes held out)", "128 images pretraining", "calibrated on 1000 validation pairs: ECE",
		"test pairs (8, scored once): accuracy", "4-way one-shot accuracy on the test set", "(400 tasks)", "an image against itself: lowest score",
		"a blank image against the same images: highest score", "uniform noise against the same images", "a few test pairs", "score"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, f := range []string{"best.safetensors", "reliability.png", TestReliability, "samples/pair1_a.png", "samples/pair1_b.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// The finished run is not overwritten by another, unless -force.
	best := filepath.Join(out, "best.safetensors")
	before, _ := os.ReadFile(best)
	again := []string{"-data", dir, "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-test-pairs", "8", "-seed", "2", "-out", out}
	for _, extra := range [][]string{nil, {"-recipe", "oneshot"}} {
		stdout.Reset()
		stderr.Reset()
		if rc := run(context.Background(), append(again, extra...), &stdout, &stderr); rc != 1 || !strings.Contains(stderr.String(), "holds a finished run") || !strings.Contains(stderr.String(), "-force") {
			t.Errorf("rerun %v into %s: exit %d, stderr %q; want 1 and a refusal naming -force", extra, out, rc, stderr.String())
		}
	}
	if after, _ := os.ReadFile(best); !bytes.Equal(before, after) {
		t.Error("the refused run changed best.safetensors")
	}
	stderr.Reset()
	if rc := run(context.Background(), append(again, "-force"), &stdout, &stderr); rc != 0 {
		t.Fatalf("-force: exit %d: %s", rc, stderr.String())
	}
	if after, _ := os.ReadFile(best); bytes.Equal(before, after) {
		t.Error("-force left best.safetensors as it was")
	}
}

// TestMNISTRecipe trains by the oneshot recipe (ResNet-50) at a tiny
// budget and reports the test pairs and one-shot tasks.
func TestMNISTRecipe(t *testing.T) {
	dir := t.TempDir()
	writeIdx(t, dir, "train", 40)
	writeIdx(t, dir, "t10k", 20)
	out := filepath.Join(dir, "run")
	var stdout, stderr bytes.Buffer
	rc := run(context.Background(), []string{"-data", dir, "-recipe", "oneshot", "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-test-pairs", "8", "-out", out}, &stdout, &stderr)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	for _, want := range []string{"recipe oneshot:", "trained on 16 images of 2 classes (24 images of 4 classes held out, 2 of them whole)", "64 images pretraining, 4800 pairs", "test pairs (8, scored once): accuracy", "4-way one-shot accuracy on the test set", "(400 tasks)", "a few test pairs"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "pretrain.safetensors")); err != nil {
		t.Error(err)
	}

	// Interrupted at once, then resumed: the same results as the run above.
	part := filepath.Join(dir, "part")
	flags := []string{"-data", dir, "-recipe", "oneshot", "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-test-pairs", "8", "-out", part}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var o, e bytes.Buffer
	if rc := run(cancelled, flags, &o, &e); rc != 1 || !strings.Contains(e.String(), "-resume") {
		t.Fatalf("interrupted run: exit %d, stderr %q", rc, e.String())
	}
	o.Reset()
	if rc := run(context.Background(), append(flags, "-resume"), &o, &e); rc != 0 {
		t.Fatalf("resumed run: exit %d: %s", rc, e.String())
	}
	if a, b := resultLine(stdout.String()), resultLine(o.String()); a == "" || a != b {
		t.Errorf("test pairs: %q uninterrupted, %q resumed", a, b)
	}
}

// resultLine returns the output's test pairs line.
func resultLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "scored once): accuracy") {
			return l
		}
	}
	return ""
}

func TestMNISTErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-data", filepath.Join(dir, "nothing")}, 1, "nothing"},
		{[]string{"-test-pairs", "1"}, 2, "-test-pairs >= 2"},
		{[]string{"-pretrain-epochs", "-1"}, 2, "no negative count"},
		{[]string{"stray"}, 2, "no arguments"},
		{[]string{"-workers", "-1"}, 2, "no negative count"},
		{[]string{"-force", "-resume"}, 2, "give one"},
		{[]string{"-bogus"}, 2, "bogus"},
		{[]string{"-recipe", "fast"}, 2, `no recipe "fast"`},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		rc := run(context.Background(), c.args, &stdout, &stderr)
		if rc != c.rc || !strings.Contains(stderr.String(), c.want) || strings.Contains(stderr.String(), "panic:") {
			t.Errorf("%v: exit %d, stderr %q; want %d naming %q", c.args, rc, stderr.String(), c.rc, c.want)
		}
	}
}
