package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/siamese"
)

func writePNG(t *testing.T, path string, c color.NRGBA, shift int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for y := range 40 {
		for x := range 40 {
			v := c
			if (x+shift)/8%2 == 0 {
				v = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(x, y, v)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestCompareEndToEnd runs both modes on a small saved model.
func TestCompareEndToEnd(t *testing.T) {
	dir := t.TempDir()
	model := modeltest.Siamese(t, dir, 0)
	refs := filepath.Join(dir, "refs")
	os.Mkdir(refs, 0o755)
	a := filepath.Join(refs, "a.png")
	writePNG(t, a, color.NRGBA{200, 0, 0, 255}, 0)
	writePNG(t, filepath.Join(refs, "b.png"), color.NRGBA{0, 0, 200, 255}, 3)
	writePNG(t, filepath.Join(refs, "c.png"), color.NRGBA{0, 150, 0, 255}, 5)
	os.WriteFile(filepath.Join(refs, "notes.txt"), []byte("not an image"), 0o644)

	var out, errOut bytes.Buffer
	if rc := run([]string{"-model", model, a, a}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "score 0.5000  same") {
		t.Errorf("an image against itself: %q", out.String())
	}
	out.Reset()
	if rc := run([]string{"-model", model, "-k", "2", a, refs}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "a.png") {
		t.Errorf("ranking %q: want 2 lines, a.png first", out.String())
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("garbage"), 0o644)
	good := filepath.Join(dir, "good.png")
	writePNG(t, good, color.NRGBA{200, 0, 0, 255}, 0)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("a text file of some length, whose first eight bytes make a huge number\n"), 0o644)
	model := modeltest.Siamese(t, dir, 0)
	weights := modeltest.Weights(t, dir)
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"a", "b"}, 2, "need -model"},
		{[]string{"-model", filepath.Join(dir, "none.safetensors"), bad, bad}, 1, "none.safetensors"},
		{[]string{"-model", bad, bad, bad}, 1, "bad.png"},
		{[]string{"-model", notes, good, good}, 1, "not a model file"},
		{[]string{"-model", weights, good, good}, 1, "not a model file but bare network weights"},
		{[]string{"-model", model, dir, good}, 1, dir + ": is a directory"},
		{[]string{"-bogus"}, 2, "bogus"},
		{[]string{"-model", model, "-k", "-3", good, dir}, 2, "-k -3"},
		{[]string{"-model", model, "-threshold", "-0.5", good, good}, 2, "-threshold -0.5 outside [0, 1]"},
		{[]string{"-model", model, "-threshold", "1.5", good, good}, 2, "-threshold 1.5 outside [0, 1]"},
		{[]string{"-model", model, good, good, good}, 2, "two arguments"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		rc := run(c.args, &out, &errOut)
		if rc != c.rc || !strings.Contains(errOut.String(), c.want) || strings.Contains(errOut.String(), "goroutine") ||
			strings.Contains(errOut.String(), "exceeds the maximum") || strings.Count(errOut.String(), "\n") > 1 && c.rc == 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
}

// TestCompareIndex ranks references with an index file built from their
// search vectors and checks that it lists what the folder mode lists, in
// the same order with the same scores, and refuses an index of another
// model or a damaged one.
func TestCompareIndex(t *testing.T) {
	dir := t.TempDir()
	model := modeltest.Siamese(t, dir, 0)
	refs := filepath.Join(dir, "refs")
	os.Mkdir(refs, 0o755)
	var paths []string
	for i, c := range []color.NRGBA{{200, 0, 0, 255}, {0, 0, 200, 255}, {0, 150, 0, 255}, {90, 90, 0, 255}, {0, 90, 90, 255}} {
		p := filepath.Join(refs, fmt.Sprintf("%c.png", 'a'+i))
		writePNG(t, p, c, i)
		paths = append(paths, p)
	}
	m, err := siamese.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	emb := filepath.Join(dir, "emb")
	if _, err := bulk.Run(context.Background(), m, paths, bulk.Config{Dir: emb, Search: true}); err != nil {
		t.Fatal(err)
	}
	ix, err := index.FromBulk(emb, nil, index.Config{Lists: 2, Probe: 2})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "refs.index")
	if err := ix.Save(file); err != nil {
		t.Fatal(err)
	}
	query := filepath.Join(dir, "query.png")
	writePNG(t, query, color.NRGBA{180, 20, 0, 255}, 1)

	var folder, viaIndex, errOut bytes.Buffer
	if rc := run([]string{"-model", model, "-k", "4", query, refs}, &folder, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	if rc := run([]string{"-model", model, "-index", file, "-k", "4", query}, &viaIndex, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	fl := strings.Split(strings.TrimSpace(folder.String()), "\n")
	il := strings.Split(strings.TrimSpace(viaIndex.String()), "\n")
	if len(fl) != 4 || len(il) != 4 {
		t.Fatalf("folder:\n%s\nindex:\n%s\nwant 4 lines each", folder.String(), viaIndex.String())
	}
	for i := range fl {
		ff, fi := strings.Fields(fl[i]), strings.Fields(il[i])
		sf, _ := strconv.ParseFloat(ff[1], 64)
		si, _ := strconv.ParseFloat(fi[1], 64)
		if ff[3] != fi[3] || math.Abs(sf-si) > 2e-4 {
			t.Errorf("line %d: folder %q, index %q", i+1, fl[i], il[i])
		}
	}

	other := modeltest.Siamese(t, t.TempDir(), 1)
	cut := filepath.Join(dir, "cut.index")
	b, _ := os.ReadFile(file)
	os.WriteFile(cut, b[:len(b)-10], 0o644)
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-model", other, "-index", file, query}, 1, "another model"},
		{[]string{"-model", model, "-index", cut, query}, 1, "damaged index file"},
		{[]string{"-model", model, "-index", query, query}, 1, "not an index file"},
		{[]string{"-model", model, "-index", file, query, refs}, 2, "one argument"},
		{[]string{"-model", model, "-index", file, "-k", "0", query}, 2, "-k 0"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		rc := run(c.args, &out, &errOut)
		if rc != c.rc || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
}
