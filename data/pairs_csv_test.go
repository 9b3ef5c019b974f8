package data

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPairsCSV(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "imgs", "a.png"), pngBytes(t, testGray(6, 6, 1)))
	writeFile(t, filepath.Join(dir, "imgs", "b.png"), pngBytes(t, testGray(6, 6, 2)))
	abs := filepath.Join(t.TempDir(), "c.png")
	writeFile(t, abs, pngBytes(t, testGray(6, 6, 3)))
	csvPath := filepath.Join(dir, "pairs.csv")
	writeFile(t, csvPath, []byte("\ufeffpath_a, path_b ,SAME,note\n"+
		"imgs/a.png,imgs/b.png,0,x\n"+
		"imgs/a.png,./imgs/a.png,1,\n"+
		"\n"+
		"imgs/b.png,"+abs+",False,y\n"+
		"imgs/b.png,imgs/a.png,TRUE,\n"))
	d, pairs, err := PairsCSV(csvPath, PairsCSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []LabeledPair{{0, 1, 0}, {0, 0, 1}, {1, 2, 0}, {1, 0, 1}}
	if !reflect.DeepEqual(pairs, want) {
		t.Errorf("pairs = %v, want %v", pairs, want)
	}
	names := []string{filepath.Join(dir, "imgs", "a.png"), filepath.Join(dir, "imgs", "b.png"), abs}
	if d.Len() != 3 || d.NumClasses() != 3 {
		t.Fatalf("len %d classes %d, want 3", d.Len(), d.NumClasses())
	}
	for i, n := range names {
		if d.Name(i) != n || d.Class(i) != i || d.ClassName(i) != n {
			t.Errorf("image %d: %q class %d %q", i, d.Name(i), d.Class(i), d.ClassName(i))
		}
	}
	img, err := d.Image(2)
	if err != nil || !samePixels(img, testGray(6, 6, 3)) {
		t.Errorf("image 2: %v", err)
	}
}

func TestPairsCSVErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), pngBytes(t, testGray(4, 4, 1)))
	cases := []struct{ name, text, want string }{
		{"bad label", "path_a,path_b,same\na.png,a.png,1\na.png,a.png,yes\n", `:3: same is "yes"`},
		{"missing column", "path_a,path_b,label\na.png,a.png,1\n", `:1: header has no column "same"`},
		{"missing file", "path_a,path_b,same\na.png,a.png,1\n\na.png,nope.png,0\n", ":4: " + filepath.Join(dir, "nope.png")},
		{"folder", "path_a,path_b,same\na.png,.,1\n", ":2: " + dir + ": is a directory"},
		{"short row", "path_a,path_b,same\na.png,a.png\n", ":2: 2 fields"},
		{"empty path", "path_a,path_b,same\na.png, ,1\n", ":2: empty path"},
		{"quote", "path_a,path_b,same\na.png,a.png,1\n\"a.png,a.png,1\n", ":3:"},
		{"empty", "", "empty file"},
		{"header only", "path_a,path_b,same\n", "no pairs"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".csv")
		writeFile(t, p, []byte(c.text))
		_, _, err := PairsCSV(p, PairsCSVOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "data: "+p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	// NoCheck defers the missing file to Image.
	p := filepath.Join(dir, "missing_file.csv")
	d, _, err := PairsCSV(p, PairsCSVOptions{NoCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Image(1); err == nil || !strings.Contains(err.Error(), "nope.png") {
		t.Errorf("Image of a missing file: err = %v", err)
	}
}
