package siamese

import (
	"github.com/gosiamese/gosiamese/preprocess"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/resnet"
)

// tinyConfig is a model small enough to run in milliseconds.
func tinyConfig() Config {
	return Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{16, 8},
		Input:   preprocessConfig(32),
		Seed:    3,
	}
}

func tinyModel(t testing.TB, edit func(*Config)) *Model {
	t.Helper()
	c := tinyConfig()
	if edit != nil {
		edit(&c)
	}
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noise returns a w x h RGB image of seeded noise.
func noise(seed uint64, w, h int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 99))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// gradient returns a horizontal colour ramp, a smooth image.
func ramp(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			f := float64(x) / float64(w)
			img.SetNRGBA(x, y, color.NRGBA{uint8(f * float64(c.R)), uint8(f * float64(c.G)), uint8(float64(y) / float64(h) * float64(c.B)), 255})
		}
	}
	return img
}

func preprocessConfig(size int) preprocess.Config { return preprocess.Config{Size: size} }

var (
	colorRed  = color.NRGBA{255, 40, 10, 255}
	colorBlue = color.NRGBA{10, 80, 255, 255}
)
