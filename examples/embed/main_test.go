package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/safetensors"
	"github.com/gosiamese/gosiamese/siamese"
)

// TestEmbedMatchesTorchvision writes the deterministic ResNet-50 of
// testdata/torchvision_reference.py as a safetensors file and its 64x64 test
// image as a PNG, runs the program on them, and compares the printed
// embedding with torchvision's ("embed.resnet50" in the reference file).
func TestEmbedMatchesTorchvision(t *testing.T) {
	if testing.Short() {
		t.Skip("ResNet-50 end to end skipped in -short mode")
	}
	dir := t.TempDir()
	enc, err := resnet.New(resnet.Config{Depth: 50, NumClasses: 1000})
	if err != nil {
		t.Fatal(err)
	}
	detrand.FillParams(enc.Params())
	weights := filepath.Join(dir, "resnet50.safetensors")
	if err := enc.SaveFile(weights); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "image.png")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, detrand.Image("image", 64, 64)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var out, errOut bytes.Buffer
	if rc := run(context.Background(), []string{"-arch", "resnet50", "-weights", weights, "-size", "64", img, img}, nil, &out, &errOut); rc != 0 {
		t.Fatalf("exit status %d: %s", rc, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d output lines, want 2", len(lines))
	}
	ref, err := safetensors.Open("../../testdata/resnet_reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, _, err := ref.Float32("embed.resnet50")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Image != img || len(r.Embedding) != 2048 {
			t.Fatalf("record for %q with %d values", r.Image, len(r.Embedding))
		}
		var d, m float64
		for i := range want {
			d = max(d, math.Abs(float64(r.Embedding[i]-want[i])))
			m = max(m, math.Abs(float64(want[i])))
		}
		if d/m > 1e-4 {
			t.Errorf("relative difference from torchvision %.3g, want <= 1e-4", d/m)
		}
	}
}

func TestEmbedErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.jpg")
	if err := os.WriteFile(bad, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "cut.safetensors")
	if err := os.WriteFile(truncated, []byte{0x10, 0, 0, 0, 0, 0, 0, 0, '{'}, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-arch", "resnet18", "-size", "32", bad}, 1, "broken.jpg"},
		{[]string{"-arch", "resnet18", "-size", "32", filepath.Join(dir, "missing.png")}, 1, "missing.png"},
		{[]string{"-arch", "resnet18", "-size", "32", dir}, 1, dir + ": is a directory"},
		{[]string{"-arch", "resnet18", "-weights", truncated, bad}, 1, "cut.safetensors"},
		{[]string{"-arch", "resnet7", bad}, 2, "resnet7"},
		{[]string{"-nosuchflag"}, 2, "nosuchflag"},
		{[]string{}, 2, "no images"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		rc := run(context.Background(), c.args, nil, &out, &errOut)
		if rc != c.rc || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
		if strings.Contains(errOut.String(), "goroutine") {
			t.Errorf("%v: stack trace on stderr", c.args)
		}
	}
}

// TestEmbedModelFiles: -model prints a Siamese model's embeddings; a model
// file given as -weights, or encoder weights or a text file given as
// -model, gets a one-line hint instead of a list of tensors.
func TestEmbedModelFiles(t *testing.T) {
	dir := t.TempDir()
	model, weights := modeltest.Siamese(t, dir, 5), modeltest.Weights(t, dir)
	m, err := siamese.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("a text file of some length, whose first eight bytes make a huge number\n"), 0o644)
	img := filepath.Join(dir, "image.png")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, detrand.Image("image", 40, 48))
	f.Close()

	var out, errOut bytes.Buffer
	if rc := run(context.Background(), []string{"-model", model, img, img}, nil, &out, &errOut); rc != 0 {
		t.Fatalf("-model: exit %d: %s", rc, errOut.String())
	}
	decoded, err := preprocess.Load(img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Embed(decoded)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Image != img || len(r.Embedding) != len(want) {
			t.Fatalf("record %s: want %d values for %s", l, len(want), img)
		}
		for i := range want {
			if r.Embedding[i] != want[i] {
				t.Fatalf("value %d = %g, the model's Embed %g", i, r.Embedding[i], want[i])
			}
		}
	}
	if len(lines) != 2 {
		t.Errorf("%d lines, want 2", len(lines))
	}

	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-arch", "resnet18", "-weights", model, img}, 1, "is a Siamese model file (written by train), not an encoder's weights"},
		{[]string{"-model", weights, img}, 1, "not a model file but bare network weights"},
		{[]string{"-model", notes, img}, 1, "not a model file"},
		{[]string{"-model", model, "-size", "64", img}, 2, "-size: not with -model"},
	} {
		var out, errOut bytes.Buffer
		rc := run(context.Background(), c.args, nil, &out, &errOut)
		e := errOut.String()
		if rc != c.rc || !strings.Contains(e, c.want) || strings.Count(e, "\n") != 1 || strings.Contains(e, "exceeds the maximum") || out.Len() > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, rc, e, c.rc, c.want)
		}
	}
}

// TestEmbedBulk: -dir, -list FILE and -list - (standard input) write
// shards in -out holding each image once with the model's own embedding,
// a bad file is skipped and named, a second run resumes the finished job,
// and the bulk flags without -model or -out, or with a bad value, are
// usage errors.
func TestEmbedBulk(t *testing.T) {
	dir := t.TempDir()
	model := modeltest.Siamese(t, dir, 5)
	m, err := siamese.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "photos")
	var imgs []string
	for i := range 5 {
		p := filepath.Join(src, []string{"cats", "dogs"}[i%2], fmt.Sprintf("%d.png", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, detrand.Image(p, 36, 40+i))
		f.Close()
		imgs = append(imgs, p)
	}
	slices.Sort(imgs)
	broken := filepath.Join(src, "broken.jpg")
	os.WriteFile(broken, []byte("not an image"), 0o644)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte(strings.Join(imgs[:3], "\n")+"\n"), 0o644)

	check := func(name, out string, want []string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(out, "part-*"))
		var got []string
		for _, f := range files {
			rows, err := bulk.ReadShard(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got = append(got, r.Path)
				img, err := preprocess.Load(r.Path)
				if err != nil {
					t.Fatal(err)
				}
				e, err := m.Embed(img)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(r.Embedding, e) {
					t.Errorf("%s: %s: embedding differs from the model's", name, r.Path)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: rows for %q, want %q", name, got, want)
		}
	}
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		want  []string
		ext   string
	}{
		{"dir", []string{"-dir", src, "-shard", "2", "-batch", "3"}, "", imgs, "parquet"},
		{"list", []string{"-list", list, "-format", "jsonl"}, "", imgs[:3], "jsonl"},
		{"stdin", []string{"-list", "-", imgs[4]}, imgs[1] + "\n" + broken + "\n", []string{imgs[1], imgs[4]}, "parquet"},
	} {
		out := filepath.Join(dir, "out-"+c.name)
		args := append([]string{"-model", model, "-out", out}, c.args...)
		for run1 := range 2 {
			var stdout, stderr bytes.Buffer
			if rc := run(context.Background(), args, strings.NewReader(c.stdin), &stdout, &stderr); rc != 0 {
				t.Fatalf("%s: exit %d: %s", c.name, rc, stderr.String())
			}
			e := stderr.String()
			if stdout.Len() > 0 || !strings.Contains(e, fmt.Sprintf("%d of ", len(c.want))) {
				t.Errorf("%s: stdout %q, stderr %q: want nothing printed and %d embedded", c.name, stdout.String(), e, len(c.want))
			}
			if skips := strings.Contains(c.stdin+strings.Join(c.args, " "), "broken") || c.name == "dir"; skips != strings.Contains(e, "skipped "+broken+": not an image") {
				t.Errorf("%s: stderr %q: want broken.jpg named as skipped: %v", c.name, e, skips)
			}
			if run1 == 1 && !strings.Contains(e, "done before") || run1 == 1 && strings.Contains(e, "(0 done before)") {
				t.Errorf("%s: second run: stderr %q, want the finished shards kept", c.name, e)
			}
			check(c.name, out, c.want)
			if files, _ := filepath.Glob(filepath.Join(out, "part-00000."+c.ext)); len(files) != 1 {
				t.Errorf("%s: no part-00000.%s in %s", c.name, c.ext, out)
			}
		}
	}

	// A stopped job says so and how to go on; the same command finishes it.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := filepath.Join(dir, "out-stopped")
	args := []string{"-model", model, "-out", stopped, "-dir", src}
	var stderr bytes.Buffer
	if rc := run(ctx, args, nil, io.Discard, &stderr); rc != 1 || !strings.Contains(stderr.String(), "context canceled") || !strings.Contains(stderr.String(), "the same command resumes the job") {
		t.Errorf("cancelled: exit %d, stderr %q; want 1, saying the job stopped and how to resume", rc, stderr.String())
	}
	if rc := run(context.Background(), args, nil, io.Discard, &stderr); rc != 0 {
		t.Fatalf("after the stop: exit %d: %s", rc, stderr.String())
	}
	check("stopped", stopped, imgs)

	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-dir", src, "-out", dir}, 2, "-dir, -out: wants -model and -out"},
		{[]string{"-model", model, "-dir", src}, 2, "wants -model and -out"},
		{[]string{"-model", model, "-out", dir, "-format", "csv", imgs[0]}, 2, `format "csv"`},
		{[]string{"-model", model, "-out", dir, "-shard", "0", imgs[0]}, 2, "-shard must be at least 1"},
		{[]string{"-model", model, "-out", dir, "-size", "64", imgs[0]}, 2, "-size: not with -model"},
		{[]string{"-model", model, "-out", dir}, 2, "no images given"},
		{[]string{"-model", model, "-out", dir, "-dir", filepath.Join(dir, "none")}, 1, "none"},
		{[]string{"-model", model, "-out", dir, "-list", filepath.Join(dir, "none.txt")}, 1, "none.txt"},
	} {
		var stdout, stderr bytes.Buffer
		rc := run(context.Background(), c.args, strings.NewReader(""), &stdout, &stderr)
		if e := stderr.String(); rc != c.rc || !strings.Contains(e, c.want) || strings.Contains(e, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", c.args, rc, e, c.rc, c.want)
		}
	}
}

// TestEmbedPrecision: -precision bf16 prints the model's bf16 embeddings
// (those of Model.SetPrecision) where bf16 runs, refuses -out, and
// elsewhere stops with the reason; an unknown precision is a usage error.
func TestEmbedPrecision(t *testing.T) {
	dir := t.TempDir()
	model := modeltest.Siamese(t, dir, 5)
	img := filepath.Join(dir, "image.png")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, detrand.Image("image", 40, 48))
	f.Close()
	var out, errOut bytes.Buffer
	if rc := run(context.Background(), []string{"-model", model, "-precision", "fp16", img}, nil, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), "-precision") {
		t.Errorf("-precision fp16: exit %d, stderr %q", rc, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	rc := run(context.Background(), []string{"-model", model, "-precision", "bf16", img}, nil, &out, &errOut)
	if avail := resnet.PrecisionAvailable(resnet.BF16); avail != nil {
		if rc != 1 || out.Len() > 0 || !strings.Contains(errOut.String(), "precision unavailable") {
			t.Fatalf("bf16 unavailable (%v): exit %d, stderr %q", avail, rc, errOut.String())
		}
		t.Skipf("skipped the bf16 embeddings: %v", avail)
	}
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	m, err := siamese.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrecision(resnet.BF16); err != nil {
		t.Fatal(err)
	}
	decoded, err := preprocess.Load(img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Embed(decoded)
	if err != nil {
		t.Fatal(err)
	}
	var r record
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Embedding, want) {
		t.Errorf("embedding %v, the model's bf16 Embed %v", r.Embedding, want)
	}
	errOut.Reset()
	if rc := run(context.Background(), []string{"-model", model, "-precision", "bf16", "-out", filepath.Join(dir, "out"), img}, nil, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), "not with -out") {
		t.Errorf("-precision bf16 -out: exit %d, stderr %q", rc, errOut.String())
	}
}
