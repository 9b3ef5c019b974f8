package data

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func testRGBA(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(3, 2, 3+w, 2+h)) // non-zero origin
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(3+x, 2+y, color.NRGBA{uint8(x * 20), uint8(y * 30), uint8(x*y + 7), uint8(255 - x - y)})
		}
	}
	return m
}

func TestAugmentIdentity(t *testing.T) {
	g := testGray(9, 7, 3)
	if out := (Augment{}).Apply(g, rand.New(rand.NewPCG(1, 2))); out != image.Image(g) {
		t.Error("zero Augment did not return its input")
	}
	if out := (Augment{Rotation: 30, Scale: 0.5}).Apply(g, nil); out != image.Image(g) {
		t.Error("disabled Augment did not return its input")
	}
	on := Augment{Enabled: true}
	for _, fill := range []color.Color{nil, color.White} {
		on.Fill = fill
		out := on.Apply(g, rand.New(rand.NewPCG(1, 2)))
		og, ok := out.(*image.Gray)
		if !ok || og == g || og.Bounds() != g.Bounds() || string(og.Pix) != string(g.Pix) {
			t.Errorf("fill %v: enabled with zero ranges is not the identity", fill)
		}
		c := testRGBA(6, 5)
		oc := on.Apply(c, rand.New(rand.NewPCG(1, 2)))
		if _, ok := oc.(*image.RGBA64); !ok || !samePixels(oc, shift(c)) {
			t.Errorf("fill %v: colour image changed by identity", fill)
		}
	}
}

// shift returns img moved to the origin.
func shift(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA64(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func TestAugmentRandom(t *testing.T) {
	a := KochAugment()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, img := range []image.Image{testGray(32, 32, 5), testRGBA(16, 12)} {
		x := a.Apply(img, rand.New(rand.NewPCG(9, 9)))
		y := a.Apply(img, rand.New(rand.NewPCG(9, 9)))
		z := a.Apply(img, rand.New(rand.NewPCG(10, 9)))
		if !samePixels(x, y) {
			t.Errorf("%T: same generator seed, different images", img)
		}
		if samePixels(x, z) {
			t.Errorf("%T: different seeds, same image", img)
		}
		if samePixels(x, shift(img)) {
			t.Errorf("%T: augmentation did nothing", img)
		}
	}
}

// The centre is a fixed point of rotation, shear and scale: a dark centre
// dot on white stays dark, the corners stay white with Fill white.
func TestAugmentGeometry(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 21, 21))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for y := 9; y <= 11; y++ {
		for x := 9; x <= 11; x++ {
			g.SetGray(x, y, color.Gray{0})
		}
	}
	a := Augment{Enabled: true, Rotation: 45, Shear: 20, Scale: 0.3, Fill: color.White}
	for seed := uint64(0); seed < 20; seed++ {
		out := a.Apply(g, rand.New(rand.NewPCG(seed, 0))).(*image.Gray)
		if v := out.GrayAt(10, 10).Y; v > 64 {
			t.Errorf("seed %d: centre %d, want dark", seed, v)
		}
		if v := out.GrayAt(0, 0).Y; v != 255 {
			t.Errorf("seed %d: corner %d, want white", seed, v)
		}
	}
	// A pure shift by Translate moves the dot.
	moved := 0
	tr := Augment{Enabled: true, Translate: 0.3, Fill: color.White}
	for seed := uint64(0); seed < 20; seed++ {
		if tr.Apply(g, rand.New(rand.NewPCG(seed, 0))).(*image.Gray).GrayAt(10, 10).Y > 128 {
			moved++
		}
	}
	if moved < 10 {
		t.Errorf("translation moved the dot off the centre only %d times in 20", moved)
	}
}

func TestAugmentValidate(t *testing.T) {
	for _, a := range []Augment{{Rotation: -1}, {Shear: 61}, {Scale: 1}, {Translate: 2}, {Scale: -0.1}} {
		if err := a.Validate(); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
	// Invalid ranges must not panic.
	bad := Augment{Enabled: true, Scale: 1, Shear: 90, Rotation: 1e308}
	bad.Apply(testGray(5, 5, 1), nil)
	bad.Apply(testRGBA(5, 5), nil)
	if out := (Augment{Enabled: true}).Apply(nil, nil); out != nil {
		t.Error("nil image")
	}
}
