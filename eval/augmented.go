package eval

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Augmented returns a Scorer that embeds each image by test-time
// augmentation: the mean of the embeddings of the image itself and of
// copies-1 distorted copies of it, distort(img, j) for j = 1 to copies-1.
// Each of the copies' embeddings is scaled to unit length before the mean
// (a zero embedding adds nothing), and the mean direction is then scaled to
// the copies' mean length, so that a head scoring a distance sees
// embeddings of the size it was trained on; for the cosine distance only the
// direction counts. Pairs are scored by s. With copies 1 the Scorer is s
// itself.
//
// distort must not change img and should depend on j alone (not on the
// order of the images), so that an image embeds the same in any batch. All
// copies of one Embed call go to s in one Embed call, copies images per
// image.
func Augmented(s Scorer, copies int, distort func(img image.Image, j int) image.Image) (Scorer, error) {
	switch {
	case s == nil:
		return nil, errors.New("eval: augmented: nil Scorer")
	case copies < 1:
		return nil, fmt.Errorf("eval: augmented: %d copies, want at least 1 (the image itself)", copies)
	case copies > 1 && distort == nil:
		return nil, errors.New("eval: augmented: nil distortion")
	case copies == 1:
		return s, nil
	}
	return augmented{s, copies, distort}, nil
}

type augmented struct {
	Scorer
	copies  int
	distort func(image.Image, int) image.Image
}

func (a augmented) Embed(imgs []image.Image) ([][]float32, error) {
	es, err := embedEach(a.Scorer, imgs, a.copies, "augmented", "copy", func(img image.Image, j int) image.Image {
		if j == 0 {
			return img
		}
		return a.distort(img, j)
	})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(imgs))
	for i := range imgs {
		group := es[i*a.copies : (i+1)*a.copies]
		dim := len(group[0])
		mean := make([]float64, dim)
		var length float64
		for j, e := range group {
			if len(e) != dim {
				return nil, fmt.Errorf("eval: augmented: image %d: copy %d has %d values, the image %d", i, j, len(e), dim)
			}
			var ss float64
			for _, v := range e {
				ss += float64(v) * float64(v)
			}
			n := math.Sqrt(ss)
			length += n
			if n == 0 {
				continue
			}
			for k, v := range e {
				mean[k] += float64(v) / n
			}
		}
		length /= float64(a.copies)
		var ss float64
		for _, v := range mean {
			ss += v * v
		}
		scale := 0.0
		if ss > 0 {
			scale = length / math.Sqrt(ss)
		}
		o := make([]float32, dim)
		for k, v := range mean {
			o[k] = float32(v * scale)
		}
		out[i] = o
	}
	return out, nil
}

// embedEach embeds n variants of each image, variant(img, k) for k = 0 to
// n-1, in one call of s.Embed: the embeddings of image i's variants are
// out[i*n : (i+1)*n]. op and noun name the caller and a variant in errors.
func embedEach(s Scorer, imgs []image.Image, n int, op, noun string, variant func(image.Image, int) image.Image) ([][]float32, error) {
	all := make([]image.Image, 0, len(imgs)*n)
	for i, img := range imgs {
		for k := range n {
			d := variant(img, k)
			if isNil(d) {
				return nil, fmt.Errorf("eval: %s: %s %d of image %d is nil", op, noun, k, i)
			}
			all = append(all, d)
		}
	}
	es, err := s.Embed(all)
	if err != nil {
		return nil, err
	}
	if len(es) != len(all) {
		return nil, fmt.Errorf("eval: %s: %d embeddings of %d images", op, len(es), len(all))
	}
	return es, nil
}
