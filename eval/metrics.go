package eval

import (
	"fmt"
	"math"
	"sort"
)

// The metrics take parallel slices: scores[i] is a similarity score (higher
// means more alike, such as a siamese.Score) and labels[i] is 1 when pair i
// shows the same thing and 0 when it does not. A score at or above a
// threshold predicts "same". Scores may be any finite or infinite values;
// NaN scores are an error.

// check validates scores and labels; with bothClasses it also requires at
// least one label of each class. It returns the number of positives
// ("same", label 1) and negatives.
func check(scores, labels []float64, bothClasses bool) (pos, neg int, err error) {
	if len(scores) == 0 {
		return 0, 0, ErrEmpty
	}
	if len(scores) != len(labels) {
		return 0, 0, fmt.Errorf("%w: %d scores, %d labels", ErrLength, len(scores), len(labels))
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, 0, fmt.Errorf("%w: score %d", ErrNaN, i)
		}
		switch labels[i] {
		case 1:
			pos++
		case 0:
			neg++
		default:
			return 0, 0, fmt.Errorf("%w: label %d is %g", ErrLabel, i, labels[i])
		}
	}
	if bothClasses && (pos == 0 || neg == 0) {
		return 0, 0, fmt.Errorf("%w: %d pairs labelled same, %d different", ErrOneClass, pos, neg)
	}
	return pos, neg, nil
}

// Accuracy returns the fraction of pairs classified correctly when a score
// at or above threshold predicts "same" (label 1) and a lower score
// predicts "different" (label 0). A score equal to the threshold counts as
// "same", as in siamese.Score.Same. Unlike the other metrics, Accuracy
// accepts labels of a single class.
func Accuracy(scores, labels []float64, threshold float64) (float64, error) {
	if _, _, err := check(scores, labels, false); err != nil {
		return 0, err
	}
	if math.IsNaN(threshold) {
		return 0, fmt.Errorf("%w: threshold", ErrNaN)
	}
	correct := 0
	for i, s := range scores {
		if (s >= threshold) == (labels[i] == 1) {
			correct++
		}
	}
	return float64(correct) / float64(len(scores)), nil
}

// Curve is a receiver operating characteristic: point i is the false
// positive rate FPR[i] and the true positive rate TPR[i] obtained when a
// score >= Thresholds[i] predicts "same". Thresholds decrease strictly;
// the first point is (0, 0) at threshold +Inf, the last is (1, 1) at the
// lowest score. FPR is also the false-accept rate (FAR) and 1 - TPR the
// false-reject rate (FRR).
type Curve struct {
	FPR, TPR, Thresholds []float64
}

// AUC returns the area under the curve by the trapezoid rule. For a Curve
// made by ROC it equals the AUC function's value up to rounding.
func (c Curve) AUC() float64 {
	a := 0.0
	for i := 1; i < len(c.FPR) && i < len(c.TPR); i++ {
		a += (c.FPR[i] - c.FPR[i-1]) * (c.TPR[i] + c.TPR[i-1]) / 2
	}
	return a
}

// group is a run of equal scores: how many of them are positives and
// negatives.
type group struct {
	score    float64
	pos, neg int
}

// groups returns the distinct scores in decreasing order with their class
// counts.
func groups(scores, labels []float64) []group {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var gs []group
	for _, i := range idx {
		if len(gs) == 0 || gs[len(gs)-1].score != scores[i] {
			gs = append(gs, group{score: scores[i]})
		}
		g := &gs[len(gs)-1]
		if labels[i] == 1 {
			g.pos++
		} else {
			g.neg++
		}
	}
	return gs
}

// ROC returns the receiver operating characteristic of the scores: one
// point per distinct score, after (0, 0) at threshold +Inf. Equal scores
// are accepted or rejected together, so a tie between the classes is one
// diagonal step, which AUC counts as half right. Errors: empty input,
// unequal lengths, labels other than 0 and 1, NaN scores, one class only.
func ROC(scores, labels []float64) (Curve, error) {
	pos, neg, err := check(scores, labels, true)
	if err != nil {
		return Curve{}, err
	}
	gs := groups(scores, labels)
	c := Curve{
		FPR:        make([]float64, 0, len(gs)+1),
		TPR:        make([]float64, 0, len(gs)+1),
		Thresholds: make([]float64, 0, len(gs)+1),
	}
	c.FPR = append(c.FPR, 0)
	c.TPR = append(c.TPR, 0)
	c.Thresholds = append(c.Thresholds, math.Inf(1))
	tp, fp := 0, 0
	for _, g := range gs {
		tp += g.pos
		fp += g.neg
		c.FPR = append(c.FPR, float64(fp)/float64(neg))
		c.TPR = append(c.TPR, float64(tp)/float64(pos))
		c.Thresholds = append(c.Thresholds, g.score)
	}
	return c, nil
}

// AUC returns the area under the ROC curve computed exactly as the
// Mann-Whitney statistic: the fraction of (same, different) pairs of pairs
// in which the "same" pair has the higher score, a tie counting 1/2. It is
// the probability that a random positive outscores a random negative.
// Errors are those of ROC.
func AUC(scores, labels []float64) (float64, error) {
	pos, neg, err := check(scores, labels, true)
	if err != nil {
		return 0, err
	}
	// Walk the distinct scores upwards, counting negatives below.
	gs := groups(scores, labels)
	var wins float64 // exact: integers and halves below 2^52
	below := 0
	for i := len(gs) - 1; i >= 0; i-- {
		g := gs[i]
		wins += float64(g.pos)*float64(below) + float64(g.pos)*float64(g.neg)/2
		below += g.neg
	}
	return wins / (float64(pos) * float64(neg)), nil
}

// EER returns the equal error rate, where the false-accept rate (FPR)
// equals the false-reject rate (1 - TPR), and a threshold for it, both
// interpolated linearly between the two ROC points where FPR + TPR - 1
// turns non-negative (a point on the crossing is returned as it is). An
// interpolated rate summarises the curve; no single threshold may reach
// it on the data. Errors are those of ROC.
func EER(scores, labels []float64) (rate, threshold float64, err error) {
	c, err := ROC(scores, labels)
	if err != nil {
		return 0, 0, err
	}
	d := func(i int) float64 { return c.FPR[i] + c.TPR[i] - 1 }
	// d(0) = -1 at (0, 0) and d(last) = 1 at (1, 1): a crossing exists.
	for i := 1; i < len(c.FPR); i++ {
		di := d(i)
		if di < 0 {
			continue
		}
		if di == 0 {
			return c.FPR[i], c.Thresholds[i], nil
		}
		dp := d(i - 1)
		a := -dp / (di - dp)
		rate = c.FPR[i-1] + a*(c.FPR[i]-c.FPR[i-1])
		t0, t1 := c.Thresholds[i-1], c.Thresholds[i]
		if math.IsInf(t0, 1) {
			threshold = t1
		} else {
			threshold = t0 + a*(t1-t0)
		}
		return rate, threshold, nil
	}
	return 0, 0, fmt.Errorf("eval: EER: no crossing on the ROC curve")
}

// CalibrateF1 returns the threshold that maximises the F1 score,
// 2TP / (2TP + FP + FN), with "same" as the positive class, and that F1.
// The candidates are the distinct scores, so the threshold is a score from
// the input and Accuracy or a model's verdict (score >= threshold)
// reproduces the counts. When several thresholds give the same F1, the
// highest is returned (the fewest false accepts).
//
// Errors are those of ROC.
func CalibrateF1(scores, labels []float64) (threshold, f1 float64, err error) {
	pos, _, err := check(scores, labels, true)
	if err != nil {
		return 0, 0, err
	}
	tp, fp := 0, 0
	best := -1.0
	for _, g := range groups(scores, labels) {
		tp += g.pos
		fp += g.neg
		fn := pos - tp
		f := 2 * float64(tp) / float64(2*tp+fp+fn)
		if f > best {
			best, threshold = f, g.score
		}
	}
	return threshold, best, nil
}

// CalibrateFAR returns the smallest distinct score whose threshold keeps
// the false-accept rate (the fraction of "different" pairs scoring at or
// above it) at most far: the most true accepts within the limit. When
// nothing can be accepted, it is the next float64 above the highest
// score. far must be in [0, 1]; other errors are those of ROC.
func CalibrateFAR(scores, labels []float64, far float64) (threshold float64, err error) {
	_, neg, err := check(scores, labels, true)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(far) {
		return 0, fmt.Errorf("%w: false-accept rate", ErrNaN)
	}
	if far < 0 || far > 1 {
		return 0, fmt.Errorf("eval: false-accept rate %g outside [0, 1]", far)
	}
	gs := groups(scores, labels)
	threshold = math.Nextafter(gs[0].score, math.Inf(1))
	fp := 0
	for _, g := range gs {
		fp += g.neg
		// The rate as a correctly rounded quotient: exactly far when
		// fp/neg and far are the same decimal (57/100 and 0.57).
		if float64(fp)/float64(neg) > far {
			break
		}
		threshold = g.score
	}
	return threshold, nil
}
