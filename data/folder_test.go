package data

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// folderFixture builds a class folder with good, corrupt, truncated,
// hidden and non-image files. It returns the root.
func folderFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	good := pngBytes(t, testGray(8, 6, 1))
	writeFile(t, filepath.Join(root, "b_dog", "2.png"), good)
	writeFile(t, filepath.Join(root, "b_dog", "1.JPG"), jpegBytes(t, testGray(5, 5, 2)))
	writeFile(t, filepath.Join(root, "a_cat", "x.png"), pngBytes(t, testGray(4, 4, 3)))
	writeFile(t, filepath.Join(root, "a_cat", "bad.png"), []byte("not an image at all"))
	// A header that decodes but pixel data that ends early.
	writeFile(t, filepath.Join(root, "a_cat", "trunc.png"), good[:len(good)-30])
	writeFile(t, filepath.Join(root, "a_cat", "notes.txt"), []byte("hello"))
	writeFile(t, filepath.Join(root, "a_cat", ".hidden.png"), good)
	writeFile(t, filepath.Join(root, ".git", "c", "y.png"), good)
	writeFile(t, filepath.Join(root, "readme.md"), []byte("x"))
	writeFile(t, filepath.Join(root, "c_empty", "only.txt"), []byte("x"))
	return root
}

func TestFolder(t *testing.T) {
	root := folderFixture(t)
	d, rep, err := Folder(root, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 0; i < d.Len(); i++ {
		rel, _ := filepath.Rel(root, d.Name(i))
		names = append(names, filepath.ToSlash(rel)+"="+d.ClassName(d.Class(i)))
	}
	want := []string{"a_cat/trunc.png=a_cat", "a_cat/x.png=a_cat", "b_dog/1.JPG=b_dog", "b_dog/2.png=b_dog"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("images = %v, want %v", names, want)
	}
	if d.NumClasses() != 2 || d.ClassName(0) != "a_cat" || d.ClassName(1) != "b_dog" {
		t.Errorf("classes = %d %q %q", d.NumClasses(), d.ClassName(0), d.ClassName(1))
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Name != filepath.Join(root, "a_cat", "bad.png") || rep.Skipped[0].Err == nil {
		t.Errorf("skipped = %+v, want a_cat/bad.png", rep.Skipped)
	}
	// notes.txt, .hidden.png, .git, readme.md, c_empty/only.txt
	if rep.Ignored != 5 {
		t.Errorf("ignored = %d, want 5", rep.Ignored)
	}

	img, err := d.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	if !samePixels(img, testGray(4, 4, 3)) {
		t.Error("x.png decoded differently")
	}
	if img, err := d.Image(2); err != nil || img.Bounds().Dx() != 5 {
		t.Errorf("JPEG: %v, %v", img, err)
	}
	// Lazy decoding: the truncated file passed the scan, Image names it.
	if _, err := d.Image(0); err == nil || !strings.HasPrefix(err.Error(), "data: ") || !strings.Contains(err.Error(), "trunc.png") {
		t.Errorf("truncated image: err = %v", err)
	}
	if _, err := d.Image(4); err == nil {
		t.Error("index out of range: no error")
	}
	if d.Class(-1) != -1 || d.Name(99) != "" || d.ClassName(5) != "" {
		t.Error("out-of-range accessors should return -1 / empty")
	}
	// A file removed after the scan: the error names it.
	os.Remove(filepath.Join(root, "b_dog", "2.png"))
	if _, err := d.Image(3); err == nil || !strings.Contains(err.Error(), "2.png") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestFolderStrict(t *testing.T) {
	root := folderFixture(t)
	_, _, err := Folder(root, FolderOptions{Strict: true})
	if err == nil || !strings.HasPrefix(err.Error(), "data: ") || !strings.Contains(err.Error(), "bad.png") {
		t.Errorf("strict: err = %v, want one naming bad.png", err)
	}
	if _, _, err := Folder(filepath.Join(root, "missing"), FolderOptions{}); err == nil {
		t.Error("missing root: no error")
	}
	if _, _, err := Folder(filepath.Join(root, "c_empty"), FolderOptions{}); err == nil {
		t.Error("root without images: no error")
	}
}

// omniglotFiles is a small Omniglot-like tree: path -> image.
func omniglotFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{}
	k := 0
	for _, c := range []string{"Beta/character01", "Alpha/character02", "Alpha/character01"} {
		for _, f := range []string{"0001_02.png", "0001_01.png"} {
			k++
			files[c+"/"+f] = pngBytes(t, testGray(10, 10, k))
		}
	}
	return files
}

func checkOmniglot(t *testing.T, d *Images, rep Report, prefix string) {
	t.Helper()
	if d.Len() != 6 || d.NumClasses() != 3 {
		t.Fatalf("len %d classes %d, want 6 and 3", d.Len(), d.NumClasses())
	}
	want := []string{"Alpha/character01", "Alpha/character02", "Beta/character01"}
	for c, w := range want {
		if d.ClassName(c) != w {
			t.Errorf("class %d = %q, want %q", c, d.ClassName(c), w)
		}
	}
	for i := 0; i < d.Len(); i++ {
		if c := d.Class(i); c != i/2 {
			t.Errorf("image %d (%s) class %d, want %d", i, d.Name(i), c, i/2)
		}
		if !strings.HasPrefix(d.Name(i), prefix) {
			t.Errorf("name %q lacks prefix %q", d.Name(i), prefix)
		}
	}
	if !strings.HasSuffix(d.Name(0), "Alpha/character01/0001_01.png") {
		t.Errorf("first image %q", d.Name(0))
	}
	img, err := d.Image(5)
	if err != nil {
		t.Fatal(err)
	}
	if !samePixels(img, testGray(10, 10, 1)) { // Beta/character01/0001_02.png
		t.Error("Beta/character01/0001_02.png decoded differently")
	}
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Name, "broken.png") {
		t.Errorf("skipped = %+v, want broken.png", rep.Skipped)
	}
}

func TestOmniglotFolder(t *testing.T) {
	root := t.TempDir()
	top := filepath.Join(root, "images_background")
	for p, b := range omniglotFiles(t) {
		writeFile(t, filepath.Join(top, filepath.FromSlash(p)), b)
	}
	writeFile(t, filepath.Join(top, "Alpha", "character01", "broken.png"), []byte("\x89PNG garbage"))
	writeFile(t, filepath.Join(top, "Alpha", "README.txt"), []byte("x"))
	writeFile(t, filepath.Join(top, ".DS_Store"), []byte("x"))
	d, rep, err := Omniglot(top)
	if err != nil {
		t.Fatal(err)
	}
	checkOmniglot(t, d, rep, top)
	// From the parent, the top folder is ignored.
	d2, _, err := Omniglot(root)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Len() != d.Len() || d2.ClassName(2) != d.ClassName(2) {
		t.Error("loading from the parent folder differs")
	}
}

func TestOmniglotZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	zw.Create("images_background/")
	for p, b := range omniglotFiles(t) {
		add("images_background/"+p, b)
	}
	add("images_background/Alpha/character01/broken.png", []byte("\x89PNG garbage"))
	add("__MACOSX/images_background/Alpha/character01/._0001_01.png", []byte("x"))
	add("images_background/notes.txt", []byte("x"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "images_background.zip")
	writeFile(t, path, buf.Bytes())
	d, rep, err := Omniglot(path)
	if err != nil {
		t.Fatal(err)
	}
	checkOmniglot(t, d, rep, path+":images_background/")

	writeFile(t, path, []byte("PK not really"))
	if _, _, err := Omniglot(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt zip: err = %v", err)
	}
}

func TestOmniglotShared(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "omniglot", "images_background_small1.zip")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("Omniglot subset not present (%v); see ../shared/omniglot/README.md beside the repository", err)
	}
	d, rep, err := Omniglot(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2720 || d.NumClasses() != 136 || len(rep.Skipped) != 0 {
		t.Fatalf("len %d classes %d skipped %d, want 2720, 136, 0", d.Len(), d.NumClasses(), len(rep.Skipped))
	}
	if d.ClassName(0) != "Balinese/character01" {
		t.Errorf("class 0 = %q", d.ClassName(0))
	}
	count := make([]int, d.NumClasses())
	for i := 0; i < d.Len(); i++ {
		count[d.Class(i)]++
	}
	for c, n := range count {
		if n != 20 {
			t.Errorf("class %s has %d images, want 20", d.ClassName(c), n)
		}
	}
	for _, i := range []int{0, 2719} {
		img, err := d.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b != image.Rect(0, 0, 105, 105) {
			t.Errorf("image %d bounds %v", i, b)
		}
	}
}

// pgmBytes encodes a grey image as a binary PGM (P5).
func pgmBytes(m *image.Gray) []byte {
	b := m.Bounds()
	out := []byte(fmt.Sprintf("P5\n# written by the test\n%d %d\n255\n", b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		out = append(out, m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]...)
	}
	return out
}

// TestFolderNetpbm: a class folder of PGM, PPM, PBM and PNM files, as many
// face sets ship, loads every image with its pixels, and skips a
// truncated header or a header ending inside a comment.
func TestFolderNetpbm(t *testing.T) {
	root := t.TempDir()
	s1, s2 := testGray(6, 5, 1), testGray(6, 5, 2)
	writeFile(t, filepath.Join(root, "s1", "1.pgm"), pgmBytes(s1))
	writeFile(t, filepath.Join(root, "s1", "2.PGM"), []byte("P2\n2 1\n15\n0 15\n"))
	writeFile(t, filepath.Join(root, "s2", "1.pnm"), pgmBytes(s2))
	writeFile(t, filepath.Join(root, "s2", "2.ppm"), []byte("P6\n1 1\n255\n\x10\x20\x30"))
	writeFile(t, filepath.Join(root, "s2", "3.pbm"), []byte("P1\n2 1\n1 0\n"))
	writeFile(t, filepath.Join(root, "s2", "cut.pgm"), []byte("P5\n6 5\n"))
	writeFile(t, filepath.Join(root, "s2", "comment.pgm"), []byte("P5 # no end"))
	d, rep, err := Folder(root, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 5 || d.NumClasses() != 2 || rep.Ignored != 0 || len(rep.Skipped) != 2 {
		t.Fatalf("%d images in %d classes, %d ignored, skipped %v; want 5 in 2, 0, cut.pgm and comment.pgm", d.Len(), d.NumClasses(), rep.Ignored, rep.Skipped)
	}
	for i, want := range map[int]image.Image{0: s1, 2: s2} {
		img, err := d.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		if !samePixels(img, want) {
			t.Errorf("image %d (%s): pixels differ from those written", i, d.Name(i))
		}
	}
	for i := range d.Len() {
		if _, err := d.Image(i); err != nil {
			t.Errorf("image %d: %v", i, err)
		}
	}
}
