package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/internal/modeltest"
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
