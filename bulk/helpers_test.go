package bulk

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// tinyModel is an untrained model small enough to embed an image in a
// millisecond: ResNet-18 of width 8, 32x32 input, initialised from seed.
func tinyModel(t testing.TB, seed uint64) *siamese.Model {
	t.Helper()
	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Hidden: []int{16}, Input: preprocess.Config{Size: 32}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bad names the files images writes that are not usable images, by the
// reason they are skipped for.
var bad = map[string]string{
	"a/notes.png": ReasonNotImage,
	"b/cut.png":   ReasonCorrupt,
	"c/huge.png":  ReasonTooLarge, // over the tests' MaxPixels
}

// testMaxPixels is the MaxPixels the tests run with: c/huge.png exceeds it.
const testMaxPixels = 80 * 80

// images writes n small PNGs of seeded noise, of a few sizes, in three
// folders under dir, plus the bad files, and returns dir.
func images(t testing.TB, dir string, n int) string {
	t.Helper()
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	encode := func(name string, w, h int) []byte {
		f, err := os.CreateTemp(t.TempDir(), "*.png")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, detrand.Image(name, h, w)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range n {
		name := fmt.Sprintf("%c/img%02d.png", 'a'+i%3, i)
		write(name, encode(name, 32+i%3*8, 40-i%2*8))
	}
	write("a/notes.png", []byte("not an image, a text file\n"))
	whole := encode("cut", 40, 40)
	write("b/cut.png", whole[:len(whole)/2])
	write("c/huge.png", encode("huge", 100, 90))
	return dir
}
