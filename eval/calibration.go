package eval

import (
	"fmt"
	"math"

	"github.com/gosiamese/gosiamese/internal/numeric"
)

// A score is calibrated when it is the probability it claims: of all pairs
// scoring about 0.8, about 80% show the same thing. The functions here
// measure that (ECE and the reliability bins behind it) and fix it (Platt
// scaling). Scores must lie in [0, 1].

// Bin is one bin of a reliability diagram: the pairs whose score falls in
// [Lo, Hi).
type Bin struct {
	Lo, Hi     float64
	Count      int
	Confidence float64 // mean score of the bin's pairs; NaN when empty
	Frequency  float64 // fraction of the bin's pairs labelled 1; NaN when empty
}

// Reliability sorts the pairs into n equal-width bins of score over
// [0, 1] (a score of exactly 1 goes into the last bin) and returns, for
// each, its mean score and the fraction of its pairs that show the same
// thing. Errors: those of the metrics, n < 1, or a score outside [0, 1].
func Reliability(scores, labels []float64, n int) ([]Bin, error) {
	if _, _, err := check(scores, labels, false); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("eval: reliability: %d bins", n)
	}
	bins := make([]Bin, n)
	sum := make([]float64, n)
	same := make([]int, n)
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/float64(n), float64(b+1)/float64(n)
	}
	for i, s := range scores {
		if s < 0 || s > 1 {
			return nil, fmt.Errorf("eval: reliability: score %d is %g, outside [0, 1]", i, s)
		}
		b := min(int(s*float64(n)), n-1)
		bins[b].Count++
		sum[b] += s
		if labels[i] == 1 {
			same[b]++
		}
	}
	for b := range bins {
		if c := bins[b].Count; c > 0 {
			bins[b].Confidence = sum[b] / float64(c)
			bins[b].Frequency = float64(same[b]) / float64(c)
		} else {
			bins[b].Confidence, bins[b].Frequency = math.NaN(), math.NaN()
		}
	}
	return bins, nil
}

// ECE returns the expected calibration error over n equal-width bins:
// the mean, weighted by the bins' counts, of |mean score - fraction
// same| (Naeini et al. 2015; Guo et al. 2017 use 10 bins and the
// predicted class's probability, which for two classes gives the same
// value). 0 is perfectly calibrated. Errors are those of Reliability.
func ECE(scores, labels []float64, n int) (float64, error) {
	bins, err := Reliability(scores, labels, n)
	if err != nil {
		return 0, err
	}
	var e float64
	for _, b := range bins {
		if b.Count > 0 {
			e += float64(b.Count) * math.Abs(b.Confidence-b.Frequency)
		}
	}
	return e / float64(len(scores)), nil
}

// Platt fits Platt scaling to logits: the a and b that minimise the
// binary cross-entropy of sigmoid(a*logit + b) against labels, by Newton's
// method on the convex loss (with a small ridge for separable data, so a
// stays finite). Applied to a model's logit it turns scores into
// calibrated probabilities on data like these; a > 0 unless the logits
// rank pairs the wrong way round. Errors: those of the metrics (both
// labels needed), or an infinite logit.
func Platt(logits, labels []float64) (a, b float64, err error) {
	if _, _, err := check(logits, labels, true); err != nil {
		return 0, 0, err
	}
	for i, z := range logits {
		if math.IsInf(z, 0) {
			return 0, 0, fmt.Errorf("eval: Platt: logit %d is %g", i, z)
		}
	}
	const ridge = 1e-6 // per pair, on a: keeps a finite when the data separate
	n := float64(len(logits))
	a, b = 1, 0
	loss := func(a, b float64) float64 {
		var l float64
		for i, z := range logits {
			t := a*z + b
			// -[y log s(t) + (1-y) log(1-s(t))] = softplus(t) - y t
			l += softplus(t) - labels[i]*t
		}
		return l/n + 0.5*ridge*a*a
	}
	cur := loss(a, b)
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for i, z := range logits {
			p := numeric.Sigmoid(a*z + b)
			r := p - labels[i]
			w := p * (1 - p)
			ga += r * z
			gb += r
			haa += w * z * z
			hab += w * z
			hbb += w
		}
		ga, gb = ga/n+ridge*a, gb/n
		haa, hab, hbb = haa/n+ridge, hab/n, hbb/n+1e-12
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		// Backtrack until the loss falls.
		step := 1.0
		for ; step > 1e-10; step /= 2 {
			if l := loss(a-step*da, b-step*db); l <= cur {
				a, b, cur = a-step*da, b-step*db, l
				break
			}
		}
		if step <= 1e-10 || math.Abs(da)+math.Abs(db) < 1e-10 {
			break
		}
	}
	return a, b, nil
}

// softplus is log(1 + e^t), without overflow.
func softplus(t float64) float64 {
	if t > 0 {
		return t + math.Log1p(math.Exp(-t))
	}
	return math.Log1p(math.Exp(t))
}
