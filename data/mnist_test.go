package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"path/filepath"
	"strings"
	"testing"
)

// idx builds an IDX file: magic, dims, data.
func idx(magic uint32, dims []uint32, data []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

// gz compresses b.
func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mnistFixture returns n 28x28 images and labels as IDX bytes.
func mnistFixture(n int) (images, labels []byte) {
	pix := make([]byte, n*784)
	for i := range pix {
		pix[i] = byte(i * 31 % 251)
	}
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = byte(i % 10)
	}
	return idx(0x803, []uint32{uint32(n), 28, 28}, pix), idx(0x801, []uint32{uint32(n)}, lab)
}

func TestMNIST(t *testing.T) {
	dir := t.TempDir()
	imgs, labs := mnistFixture(12)
	raw := [2]string{filepath.Join(dir, "img"), filepath.Join(dir, "lab")}
	zipped := [2]string{filepath.Join(dir, "img.gz"), filepath.Join(dir, "lab.bin")} // names do not matter
	writeFile(t, raw[0], imgs)
	writeFile(t, raw[1], labs)
	writeFile(t, zipped[0], gz(t, imgs))
	writeFile(t, zipped[1], gz(t, labs))
	for _, p := range [][2]string{raw, zipped} {
		d, err := MNIST(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 12 || d.NumClasses() != 10 || d.ClassName(3) != "3" || d.Class(11) != 1 {
			t.Fatalf("%s: len %d classes %d", p[0], d.Len(), d.NumClasses())
		}
		img, err := d.Image(2)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := img.(*image.Gray)
		if !ok || g.Bounds() != image.Rect(0, 0, 28, 28) {
			t.Fatalf("image is %T %v, want 28x28 *image.Gray", img, img.Bounds())
		}
		if !bytes.Equal(g.Pix, imgs[16+2*784:16+3*784]) {
			t.Error("pixels differ from the file")
		}
		g.Pix[0] ^= 0xff // callers own the image
		if again, _ := d.Image(2); again.(*image.Gray).Pix[0] == g.Pix[0] {
			t.Error("Image shares memory between calls")
		}
		if _, err := d.Image(12); err == nil {
			t.Error("index out of range: no error")
		}
	}
	d, err := MNIST(zipped[0], zipped[1], FashionMNISTClasses()...)
	if err != nil || d.ClassName(9) != "Ankle boot" {
		t.Errorf("Fashion names: %v %q", err, d.ClassName(9))
	}
	if _, err := MNIST(raw[0], raw[1], "a", "b"); err == nil {
		t.Error("labels beyond the class names: no error")
	}
}

func TestMNISTCorrupt(t *testing.T) {
	dir := t.TempDir()
	imgs, labs := mnistFixture(4)
	labPath := filepath.Join(dir, "labels")
	writeFile(t, labPath, labs)

	huge := idx(0x803, []uint32{1_000_000_000, 28, 28}, imgs[16:])
	big := idx(0x803, []uint32{5_000_000, 28, 28}, imgs[16:]) // 3.9 GB claimed
	bigGz := gz(t, big)
	forged := append([]byte(nil), bigGz...)
	binary.LittleEndian.PutUint32(forged[len(forged)-4:], uint32(16+5_000_000*784))
	short := idx(0x803, []uint32{5, 28, 28}, imgs[16:]) // claims 5, holds 4
	shortGz := gz(t, short)
	binary.LittleEndian.PutUint32(shortGz[len(shortGz)-4:], uint32(16+5*784))
	zipped := gz(t, imgs)

	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"magic", idx(0x801, []uint32{4, 28, 28}, imgs[16:]), "magic"},
		{"dims", idx(0x803, []uint32{4, 0, 28}, nil), "dimension"},
		{"huge raw", huge, "over"},
		{"huge gz", gz(t, huge), "over"},
		{"big raw", big, "file has"},
		{"big gz", bigGz, "trailer"},
		{"huge gz forged trailer", forged, "compressed bytes"},
		{"short raw", short, "header claims"},
		{"short gz", shortGz, "checksum"},
		{"long raw", append(append([]byte(nil), imgs...), 0), "header claims"},
		{"truncated gz", zipped[:len(zipped)/2], "truncated (the gzip stream ends early, after "},
		{"truncated gz trailer", zipped[:len(zipped)-3], "truncated (the gzip stream ends early, after 3152 of the 3152 bytes"},
		{"tiny", []byte{0}, "too short"},
		{"header only", imgs[:10], ""},
		{"many dims", idx(0x803, []uint32{70000, 4096, 4096}, nil), "over"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		writeFile(t, p, c.file)
		_, err := MNIST(p, labPath)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "data: "+p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %q, want it to name the file and say %q", c.name, err, c.want)
		}
	}
	// Counts that disagree.
	imgPath := filepath.Join(dir, "ok")
	writeFile(t, imgPath, imgs)
	_, labs3 := mnistFixture(3)
	writeFile(t, labPath, labs3)
	if _, err := MNIST(imgPath, labPath); err == nil || !strings.Contains(err.Error(), "4 images") {
		t.Errorf("count mismatch: err = %v", err)
	}
}

func TestGoMNIST(t *testing.T) {
	dir, err := FindGoMNIST()
	if err != nil {
		t.Skipf("MNIST files not available: %v", err)
	}
	test, err := MNIST(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	// The first test digits of MNIST are 7, 2, 1, 0, 4.
	if test.Len() != 10000 || test.NumClasses() != 10 || test.Class(0) != 7 || test.Class(1) != 2 || test.Class(4) != 4 {
		t.Errorf("t10k: len %d classes %d first labels %d %d", test.Len(), test.NumClasses(), test.Class(0), test.Class(1))
	}
	img, err := test.Image(0)
	if err != nil || img.Bounds() != image.Rect(0, 0, 28, 28) {
		t.Fatalf("image 0: %v %v", img, err)
	}
	if testing.Short() || raceEnabled {
		return
	}
	train, test2, err := GoMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || train.Class(0) != 5 || test2.Len() != 10000 {
		t.Errorf("train: len %d first label %d", train.Len(), train.Class(0))
	}
}

func TestVersionOrder(t *testing.T) {
	vs := []string{"v0.0.0-20150320212226-2fbe10d0fa63", "v0.0.0-20160101000000-aaaaaaaaaaaa", "v0.1.0", "v0.10.0", "v1.0.0-rc1", "v1.0.0"}
	for i := 0; i+1 < len(vs); i++ {
		if !versionLess(vs[i], vs[i+1]) || versionLess(vs[i+1], vs[i]) {
			t.Errorf("%s should sort before %s", vs[i], vs[i+1])
		}
	}
}

// TestMNISTFiles finds each set's files by either naming, gzipped or not,
// preferring the gzipped file, and says what is missing.
func TestMNISTFiles(t *testing.T) {
	dir := t.TempDir()
	imgs, labs := mnistFixture(12)
	writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), imgs)
	writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), gz(t, imgs))
	writeFile(t, filepath.Join(dir, "train-labels.idx1-ubyte"), labs)
	i, l, err := MNISTFiles(dir, MNISTTrain)
	if err != nil || i != filepath.Join(dir, "train-images-idx3-ubyte.gz") || l != filepath.Join(dir, "train-labels.idx1-ubyte") {
		t.Errorf("train: %q, %q, %v", i, l, err)
	}
	d, err := MNISTFolder(dir, MNISTTrain)
	if err != nil || d.Len() != 12 {
		t.Fatalf("MNISTFolder: %v", err)
	}
	if _, _, err := MNISTFiles(dir, MNISTTest); err == nil || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte") {
		t.Errorf("no test set: %v", err)
	}
	if _, _, err := MNISTFiles(filepath.Join(dir, "none"), MNISTTrain); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("missing folder: %v", err)
	}
	if _, _, err := MNISTFiles(filepath.Join(dir, "train-labels.idx1-ubyte"), MNISTTrain); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file as the folder: %v", err)
	}
}
