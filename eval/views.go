package eval

import (
	"errors"
	"fmt"
	"image"
)

// Views returns a Scorer that compares two images view by view: each image
// is embedded under views views, view(img, v) for v = 0 to views-1 (view 0
// is usually the image itself), and its embedding is the concatenation of
// the views' embeddings. A pair's score is the mean of s's scores of the
// views' pairs: view v of one image is compared with view v of the other
// only. When s scores by a log-odds or a negated distance that is linear
// in a distance, the mean is the score of the views' mean distance. With
// views 1 the Scorer is s itself.
//
// view must not change img and should depend on v alone, so that an image
// embeds the same in any batch. All views of one Embed call go to s in one
// Embed call, views images per image.
func Views(s Scorer, views int, view func(img image.Image, v int) image.Image) (Scorer, error) {
	switch {
	case s == nil:
		return nil, errors.New("eval: views: nil Scorer")
	case views < 1:
		return nil, fmt.Errorf("eval: views: %d views, want at least 1", views)
	case views > 1 && view == nil:
		return nil, errors.New("eval: views: nil view function")
	case views == 1:
		return s, nil
	}
	return viewed{s, views, view}, nil
}

type viewed struct {
	s     Scorer
	views int
	view  func(image.Image, int) image.Image
}

func (w viewed) Embed(imgs []image.Image) ([][]float32, error) {
	es, err := embedEach(w.s, imgs, w.views, "views", "view", w.view)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(imgs))
	for i := range imgs {
		group := es[i*w.views : (i+1)*w.views]
		dim := len(group[0])
		o := make([]float32, 0, dim*w.views)
		for v, e := range group {
			if len(e) != dim {
				return nil, fmt.Errorf("eval: views: image %d: view %d has %d values, view 0 %d", i, v, len(e), dim)
			}
			o = append(o, e...)
		}
		out[i] = o
	}
	return out, nil
}

func (w viewed) Score(a, b []float32) (float64, error) {
	return meanOfParts(a, b, w.views, "views", "views", func(_ int, a, b []float32) (float64, error) {
		return w.s.Score(a, b)
	})
}
