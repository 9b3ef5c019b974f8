package data

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/disintegration/imaging"
	"gorgonia.org/tensor"
)

// Item is one image of a classification batch: the dataset index and the
// number of quarter turns (0 to 3, counter-clockwise) applied before any
// augmentation. Rotated copies of an image can serve as extra classes.
type Item struct {
	Index int
	Turns int
}

// Images returns the model input for items, one image each: a (N, C, Size,
// Size) float32 tensor with N = len(items). Each image is rotated by its
// Turns, then augmented with a generator keyed by (seed, step, position)
// (a different stream from Batch's), so the same items and step give
// bit-identical tensors with any number of workers. Errors name the
// position and the image.
func (b *Batcher) Images(items []Item, step uint64) (*tensor.Dense, error) {
	n := len(items)
	if n == 0 {
		return nil, errors.New("data: images: no items")
	}
	size := b.ds.Len()
	for k, it := range items {
		if it.Index < 0 || it.Index >= size {
			return nil, fmt.Errorf("data: images: item %d: %w", k, trimData(errIndex(it.Index, size)))
		}
		if it.Turns < 0 || it.Turns > 3 {
			return nil, fmt.Errorf("data: images: item %d: %d quarter turns, want 0 to 3", k, it.Turns)
		}
	}
	where := func(p int) string { return fmt.Sprintf("item %d", p) }
	per := b.cfg.Channels * b.cfg.Size * b.cfg.Size
	out := make([]float32, n*per)
	err := parallel(n, b.workers, func(p int) error {
		img, err := b.image(items[p].Index)
		if err != nil {
			return fmt.Errorf("data: images: %s: %w", where(p), trimData(err))
		}
		img = RotateQuarter(img, items[p].Turns)
		if b.aug.Enabled {
			img = b.aug.Apply(img, rand.New(derive(b.seed, domainImages, step, uint64(p))))
		}
		return b.pixels(out, p, img, per, where)
	})
	if err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(n, b.cfg.Channels, b.cfg.Size, b.cfg.Size), tensor.WithBacking(out)), nil
}

// RotateQuarter returns img turned counter-clockwise by turns quarter
// turns (taken modulo 4); 0 returns img itself. A *image.Gray stays a
// *image.Gray; other kinds become *image.NRGBA. The result's bounds start
// at (0, 0).
func RotateQuarter(img image.Image, turns int) image.Image {
	turns = ((turns % 4) + 4) % 4
	if turns == 0 || isNilImage(img) {
		return img
	}
	g, ok := img.(*image.Gray)
	if !ok {
		switch turns {
		case 1:
			return imaging.Rotate90(img)
		case 2:
			return imaging.Rotate180(img)
		default:
			return imaging.Rotate270(img)
		}
	}
	r := g.Bounds()
	w, h := r.Dx(), r.Dy()
	ow, oh := w, h
	if turns != 2 {
		ow, oh = h, w
	}
	out := image.NewGray(image.Rect(0, 0, ow, oh))
	for y := range h {
		row := g.Pix[g.PixOffset(r.Min.X, r.Min.Y+y):]
		for x := range w {
			var ox, oy int
			switch turns {
			case 1: // counter-clockwise: (x, y) -> (y, w-1-x)
				ox, oy = y, w-1-x
			case 2:
				ox, oy = w-1-x, h-1-y
			default: // clockwise: (x, y) -> (h-1-y, x)
				ox, oy = h-1-y, x
			}
			out.Pix[oy*out.Stride+ox] = row[x]
		}
	}
	return out
}
