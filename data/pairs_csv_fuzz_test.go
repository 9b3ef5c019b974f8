package data

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPairsCSV writes arbitrary bytes as a pairs CSV next to a tiny PNG
// (a.png), a JPEG (b.jpg), a corrupt image (bad.png) and a folder (sub),
// and reads it with PairsCSV, checking and not checking the images.
// Nothing may panic, errors carry the package prefix, and an accepted file
// gives pairs whose indices and labels are valid.
//
//	go test ./data -run '^$' -fuzz FuzzPairsCSV -fuzztime 15s
func FuzzPairsCSV(f *testing.F) {
	for _, s := range []string{
		"path_a,path_b,same\na.png,b.jpg,0\na.png,a.png,1\n",
		"\ufeffPATH_B, path_a ,Same,note\nb.jpg,a.png,TRUE,x\n\n\"a.png\",\"b.jpg\",false,\"quoted, \"\"note\"\"\"\n",
		"path_a,path_b,same\r\na.png,sub/../a.png,1\r\n",
		"path_a,path_b,same\na.png,bad.png,1\n",
		"path_a,path_b,same\na.png,sub,1\n",
		"path_a,path_b,same\na.png,missing.png,1\n",
		"path_a,path_b,same\na.png,b.jpg\n",
		"path_a,path_b,same\na.png, ,1\n",
		"path_a,path_b,same\na.png,a.png,yes\n",
		"path_a,path_b,same\n\"a.png,a.png,1\n",
		"same;path_a;path_b\n1;a.png;b.jpg\n",
		"path_a,path_a,path_b,same,same\na.png,x,b.jpg,1,0\n",
		"path_a,path_b,same\n",
		"",
		"\x00\xff\xfe,,,\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	dir := f.TempDir()
	img := testGray(3, 2, 1)
	var pngBuf, jpegBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&jpegBuf, img, nil); err != nil {
		f.Fatal(err)
	}
	files := map[string][]byte{
		"a.png":   pngBuf.Bytes(),
		"b.jpg":   jpegBuf.Bytes(),
		"bad.png": append(pngBuf.Bytes()[:40:40], "truncated"...),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	csvPath := filepath.Join(dir, "pairs.csv")

	f.Fuzz(func(t *testing.T, data []byte, noCheck bool) {
		// Workers run one input at a time, so one CSV path is enough.
		if err := os.WriteFile(csvPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, pairs, err := PairsCSV(csvPath, PairsCSVOptions{NoCheck: noCheck})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: "+csvPath) {
				t.Fatalf("error does not name the CSV: %v", err)
			}
			return
		}
		if d == nil || len(pairs) == 0 {
			t.Fatalf("no error, %v dataset, %d pairs", d, len(pairs))
		}
		n := d.Len()
		if n == 0 || d.NumClasses() != n {
			t.Fatalf("%d images, %d classes", n, d.NumClasses())
		}
		for _, p := range pairs {
			if p.A < 0 || p.A >= n || p.B < 0 || p.B >= n || (p.Label != 0 && p.Label != 1) {
				t.Fatalf("bad pair %+v of %d images", p, n)
			}
		}
		for i := 0; i < n; i++ {
			name := d.Name(i)
			if d.Class(i) != i || d.ClassName(i) != name || name != filepath.Clean(name) {
				t.Fatalf("image %d: name %q class %d %q", i, name, d.Class(i), d.ClassName(i))
			}
			// Only files of the fuzz folder are read: a fuzzed absolute
			// path could name /dev/zero, which never ends.
			if rel, err := filepath.Rel(dir, name); err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
				continue
			}
			// A checked image only has a readable header, so decoding may
			// still fail (bad.png), with an error naming it.
			if _, err := d.Image(i); err != nil && !strings.HasPrefix(err.Error(), "data: "+name+": ") {
				t.Fatalf("Image(%d): error does not name %s: %v", i, name, err)
			}
		}
		if _, err := d.Image(n); err == nil {
			t.Fatal("Image(Len()) did not fail")
		}
	})
}
