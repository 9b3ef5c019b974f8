package data

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/gosiamese/gosiamese/preprocess"
)

// A grey image turned by RotateQuarter equals imaging's rotation of it.
func TestRotateQuarterGray(t *testing.T) {
	g := testGray(5, 3, 7) // not square, so width and height must swap
	g = g.SubImage(image.Rect(1, 0, 5, 3)).(*image.Gray)
	for turns, want := range []image.Image{g, imaging.Rotate90(g), imaging.Rotate180(g), imaging.Rotate270(g)} {
		got := RotateQuarter(g, turns+4)
		if got.Bounds().Size() != want.Bounds().Size() {
			t.Fatalf("%d turns: size %v, want %v", turns, got.Bounds().Size(), want.Bounds().Size())
		}
		if _, ok := got.(*image.Gray); !ok {
			t.Fatalf("%d turns: got %T, want *image.Gray", turns, got)
		}
		wb, gb := want.Bounds(), got.Bounds()
		for y := range wb.Dy() {
			for x := range wb.Dx() {
				w := color.GrayModel.Convert(want.At(wb.Min.X+x, wb.Min.Y+y)).(color.Gray)
				if v := got.At(gb.Min.X+x, gb.Min.Y+y).(color.Gray); v != w {
					t.Fatalf("%d turns: pixel (%d,%d) = %v, want %v", turns, x, y, v, w)
				}
			}
		}
	}
}

func TestImagesDeterministic(t *testing.T) {
	ds := memoryDataset(t, 20, 3, 4)
	cfg := preprocess.Config{Size: 12, Channels: 1, Norm: preprocess.UnitRange}
	items := []Item{{0, 0}, {3, 1}, {3, 1}, {6, 2}, {2, 3}}
	var runs [][]float32
	for _, workers := range []int{1, 3} {
		b, err := NewBatcher(ds, cfg, KochAugment(), workers, 9)
		if err != nil {
			t.Fatal(err)
		}
		x, err := b.Images(items, 4)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{5, 1, 12, 12}; !x.Shape().Eq(want) {
			t.Fatalf("shape %v, want %v", x.Shape(), want)
		}
		runs = append(runs, x.Data().([]float32))
	}
	if !equalBits(runs[0], runs[1]) {
		t.Error("1 and 3 workers give different images")
	}
	per := 144
	if equalBits(runs[0][per:2*per], runs[0][2*per:3*per]) {
		t.Error("two positions holding the same item got the same distortion")
	}

	// Without augmentation, item {3, 1} is image 3 turned once.
	b, _ := NewBatcher(ds, cfg, Augment{}, 2, 9)
	x, err := b.Images([]Item{{3, 1}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := ds.Image(3)
	want, _ := preprocess.Pixels(RotateQuarter(img, 1), cfg)
	if !equalBits(x.Data().([]float32), want) {
		t.Error("item {3, 1} is not image 3 turned a quarter")
	}
}

func TestImagesErrors(t *testing.T) {
	ds := memoryDataset(t, 20, 3)
	b, _ := NewBatcher(ds, preprocess.Config{Size: 12, Channels: 1}, Augment{}, 1, 1)
	for _, c := range []struct {
		items []Item
		want  string
	}{
		{nil, "no items"},
		{[]Item{{0, 0}, {3, 0}}, "item 1"},
		{[]Item{{0, 4}}, "quarter turns"},
	} {
		_, err := b.Images(c.items, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "data: ") {
			t.Errorf("%v: error %v, want one naming %q", c.items, err, c.want)
		}
	}
}
