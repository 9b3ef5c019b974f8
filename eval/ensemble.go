package eval

import (
	"errors"
	"fmt"
	"image"
)

// Ensemble returns a Scorer that compares two images by several Scorers
// at once, such as the encoders of several epochs of one training run: an
// image's embedding is the members' embeddings end to end, and a pair's
// score is the mean of the members' scores, member m's part of one
// embedding compared with member m's part of the other. When the members
// score by log-odds linear in a distance under one head, the mean is that
// head's score of the members' mean distance. With one member the Scorer
// is the member itself.
//
// Every member must embed every image in the same number of values, so
// that a pair's embeddings split evenly. Each Embed call passes the images
// to each member once, in member order.
func Ensemble(members ...Scorer) (Scorer, error) {
	switch len(members) {
	case 0:
		return nil, errors.New("eval: ensemble: no members")
	case 1:
		if members[0] == nil {
			return nil, errors.New("eval: ensemble: member 0 is a nil Scorer")
		}
		return members[0], nil
	}
	for i, s := range members {
		if s == nil {
			return nil, fmt.Errorf("eval: ensemble: member %d is a nil Scorer", i)
		}
	}
	return ensemble(append([]Scorer(nil), members...)), nil
}

type ensemble []Scorer

func (e ensemble) Embed(imgs []image.Image) ([][]float32, error) {
	out := make([][]float32, len(imgs))
	dim := -1
	for m, s := range e {
		es, err := s.Embed(imgs)
		if err != nil {
			return nil, fmt.Errorf("eval: ensemble: member %d: %w", m, trimPrefix(err))
		}
		if len(es) != len(imgs) {
			return nil, fmt.Errorf("eval: ensemble: member %d returned %d embeddings for %d images", m, len(es), len(imgs))
		}
		for i, v := range es {
			if dim < 0 {
				dim = len(v)
			}
			if len(v) != dim {
				return nil, fmt.Errorf("eval: ensemble: member %d embeds image %d in %d values, member 0 image 0 in %d", m, i, len(v), dim)
			}
			if out[i] == nil {
				out[i] = make([]float32, 0, dim*len(e))
			}
			out[i] = append(out[i], v...)
		}
	}
	return out, nil
}

func (e ensemble) Score(a, b []float32) (float64, error) {
	return meanOfParts(a, b, len(e), "ensemble", "members", func(m int, a, b []float32) (float64, error) {
		return e[m].Score(a, b)
	})
}

// meanOfParts splits a and b into k parts of equal length and returns the
// mean of score over the parts, part i of a against part i of b.
func meanOfParts(a, b []float32, k int, what, parts string, score func(i int, a, b []float32) (float64, error)) (float64, error) {
	if len(a) != len(b) || len(a)%k != 0 {
		return 0, fmt.Errorf("eval: %s: embeddings of %d and %d values, want the same multiple of %d %s", what, len(a), len(b), k, parts)
	}
	dim := len(a) / k
	var sum float64
	for i := range k {
		s, err := score(i, a[i*dim:(i+1)*dim], b[i*dim:(i+1)*dim])
		if err != nil {
			return 0, err
		}
		sum += s
	}
	return sum / float64(k), nil
}
