package eval

import (
	"errors"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func checkSlice(t *testing.T, name string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", name, got, want)
	}
	for i := range got {
		if !(near(got[i], want[i]) || got[i] == want[i]) {
			t.Fatalf("%s: got %v, want %v", name, got, want)
		}
	}
}

// Example A, no ties. P = 3 "same", N = 3 "different".
//
//	score 0.9  0.8  0.7  0.6  0.55 0.4
//	label 1    1    0    1    0    0
//
// ROC, accepting score >= t, t descending:
//
//	t=+Inf (0,0); 0.9 (0,1/3); 0.8 (0,2/3); 0.7 (1/3,2/3); 0.6 (1/3,1);
//	0.55 (2/3,1); 0.4 (1,1)
//
// AUC: 0.9 and 0.8 beat all 3 negatives, 0.6 beats 0.55 and 0.4: 8/9.
// EER: FPR + TPR - 1 is 0 at t=0.7 exactly: rate 1/3, threshold 0.7.
// F1 by threshold (TP, FP, FN): 0.9 (1,0,2) 2/4; 0.8 (2,0,1) 4/5;
// 0.7 (2,1,1) 4/6; 0.6 (3,1,0) 6/7; 0.55 (3,2,0) 6/8; 0.4 (3,3,0) 6/9:
// best 6/7 at 0.6.
// FAR by threshold: 0.9 0, 0.8 0, 0.7 1/3, 0.6 1/3, 0.55 2/3, 0.4 1.
var (
	scoresA = []float64{0.9, 0.8, 0.7, 0.6, 0.55, 0.4}
	labelsA = []float64{1, 1, 0, 1, 0, 0}
)

// Example B, ties between classes, given shuffled.
//
//	score 0.5  0.2  0.8  0.5  0.2  0.5
//	label 0    1    1    1    0    0
//
// Distinct scores: 0.8 {1 same}, 0.5 {1 same, 2 different},
// 0.2 {1 same, 1 different}.
// ROC: +Inf (0,0); 0.8 (0,1/3); 0.5 (2/3,2/3); 0.2 (1,1).
// AUC, Mann-Whitney: same 0.8 beats 3; same 0.5 ties two 0.5s (1/2 each)
// and beats 0.2 (1); same 0.2 ties one 0.2 (1/2): 5.5/9 = 11/18. The
// trapezoids agree: 2/3 * (1/3+2/3)/2 + 1/3 * (2/3+1)/2 = 1/3 + 5/18.
// EER: FPR + TPR - 1 is -2/3 at 0.8 and +1/3 at 0.5; it is 0 at fraction
// a = 2/3 of that segment: FPR = 2/3 * 2/3 = 4/9, FRR = 1 - (1/3 + 2/3 *
// 1/3) = 4/9, threshold 0.8 + 2/3 * (0.5 - 0.8) = 0.6.
// F1: 0.8 (1,0,2) 1/2; 0.5 (2,2,1) 4/7; 0.2 (3,3,0) 2/3: best at 0.2.
// FAR: 0.8 0, 0.5 2/3, 0.2 1.
// Accuracy at 0.5 (ties accepted): 0.8 right, the three 0.5s one right,
// 0.2s one right: 3/6.
var (
	scoresB = []float64{0.5, 0.2, 0.8, 0.5, 0.2, 0.5}
	labelsB = []float64{0, 1, 1, 1, 0, 0}
)

// Example C, the highest score is a "different" pair.
//
//	score 0.9 0.5 0.1
//	label 0   1   0
//
// ROC: +Inf (0,0); 0.9 (1/2,0); 0.5 (1/2,1); 0.1 (1,1).
// EER: FPR + TPR - 1 is -1/2 at 0.9 and 1/2 at 0.5: a = 1/2, rate 1/2,
// threshold 0.7.
// FAR 0 is only met above 0.9: the next float64 after 0.9.
var (
	scoresC = []float64{0.9, 0.5, 0.1}
	labelsC = []float64{0, 1, 0}
)

func TestROC(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name                 string
		scores, labels       []float64
		fpr, tpr, thresholds []float64
		auc                  float64
	}{
		{"A", scoresA, labelsA,
			[]float64{0, 0, 0, 1. / 3, 1. / 3, 2. / 3, 1},
			[]float64{0, 1. / 3, 2. / 3, 2. / 3, 1, 1, 1},
			[]float64{inf, 0.9, 0.8, 0.7, 0.6, 0.55, 0.4}, 8. / 9},
		{"B", scoresB, labelsB,
			[]float64{0, 0, 2. / 3, 1},
			[]float64{0, 1. / 3, 2. / 3, 1},
			[]float64{inf, 0.8, 0.5, 0.2}, 11. / 18},
		{"C", scoresC, labelsC,
			[]float64{0, 0.5, 0.5, 1},
			[]float64{0, 0, 1, 1},
			[]float64{inf, 0.9, 0.5, 0.1}, 0.5},
		{"all tied", []float64{3, 3, 3}, []float64{1, 0, 0},
			[]float64{0, 1}, []float64{0, 1}, []float64{inf, 3}, 0.5},
		{"perfect", []float64{1, 2}, []float64{0, 1},
			[]float64{0, 0, 1}, []float64{0, 1, 1}, []float64{inf, 2, 1}, 1},
		{"inverted", []float64{1, 2}, []float64{1, 0},
			[]float64{0, 1, 1}, []float64{0, 0, 1}, []float64{inf, 2, 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ROC(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "FPR", c.FPR, tc.fpr)
			checkSlice(t, "TPR", c.TPR, tc.tpr)
			checkSlice(t, "Thresholds", c.Thresholds, tc.thresholds)
			auc, err := AUC(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !near(auc, tc.auc) {
				t.Errorf("AUC = %v, want %v", auc, tc.auc)
			}
			if !near(c.AUC(), tc.auc) {
				t.Errorf("Curve.AUC = %v, want %v", c.AUC(), tc.auc)
			}
		})
	}
}

func TestEER(t *testing.T) {
	for _, tc := range []struct {
		name            string
		scores, labels  []float64
		rate, threshold float64
	}{
		{"A exact point", scoresA, labelsA, 1. / 3, 0.7},
		{"B ties, interpolated", scoresB, labelsB, 4. / 9, 0.6},
		{"C", scoresC, labelsC, 0.5, 0.7},
		// From (0,0) at +Inf straight to (1,1) at 3: halfway, and the
		// threshold is the finite end.
		{"all tied", []float64{3, 3}, []float64{1, 0}, 0.5, 3},
		// Perfect separation: (0,0) (0,1) (1,1); the crossing is the
		// corner (0,1) exactly, at threshold 2.
		{"perfect", []float64{1, 2}, []float64{0, 1}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate, th, err := EER(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !near(rate, tc.rate) || !near(th, tc.threshold) {
				t.Errorf("EER = %v at %v, want %v at %v", rate, th, tc.rate, tc.threshold)
			}
		})
	}
}

func TestAccuracy(t *testing.T) {
	for _, tc := range []struct {
		scores, labels []float64
		threshold      float64
		want           float64
	}{
		{scoresA, labelsA, 0.65, 4. / 6},
		{scoresA, labelsA, 0.6, 5. / 6}, // 0.6 itself is accepted
		{scoresA, labelsA, 0.61, 4. / 6},
		{scoresA, labelsA, 1, 3. / 6},
		{scoresA, labelsA, math.Inf(-1), 3. / 6},
		{scoresB, labelsB, 0.5, 3. / 6},
		{scoresB, labelsB, 0.8, 4. / 6},
		{[]float64{0.1, 0.9}, []float64{1, 1}, 0.5, 0.5}, // one class is fine here
	} {
		got, err := Accuracy(tc.scores, tc.labels, tc.threshold)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got, tc.want) {
			t.Errorf("Accuracy(%v, %v, %v) = %v, want %v", tc.scores, tc.labels, tc.threshold, got, tc.want)
		}
	}
}

func TestCalibrateF1(t *testing.T) {
	for _, tc := range []struct {
		name              string
		scores, labels    []float64
		threshold, wantF1 float64
	}{
		{"A", scoresA, labelsA, 0.6, 6. / 7},
		{"B", scoresB, labelsB, 0.2, 2. / 3},
		// Thresholds 2 and 1 both give F1 2/3 ((1,0,1) and (2,2,0)):
		// the higher wins.
		{"tie in F1", []float64{2, 1, 1, 1}, []float64{1, 1, 0, 0}, 2, 2. / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, f1, err := CalibrateF1(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if th != tc.threshold || !near(f1, tc.wantF1) {
				t.Errorf("CalibrateF1 = %v (F1 %v), want %v (F1 %v)", th, f1, tc.threshold, tc.wantF1)
			}
		})
	}
}

func TestCalibrateFAR(t *testing.T) {
	for _, tc := range []struct {
		name           string
		scores, labels []float64
		far, want      float64
	}{
		{"A 0", scoresA, labelsA, 0, 0.8},
		{"A 0.2", scoresA, labelsA, 0.2, 0.8},
		{"A 1/3 (boundary met)", scoresA, labelsA, 1. / 3, 0.6},
		{"A 0.5", scoresA, labelsA, 0.5, 0.6},
		{"A 2/3", scoresA, labelsA, 2. / 3, 0.55},
		{"A 1", scoresA, labelsA, 1, 0.4},
		{"B 0", scoresB, labelsB, 0, 0.8},
		{"B 0.6", scoresB, labelsB, 0.6, 0.8}, // the tie at 0.5 brings 2/3
		{"B 2/3", scoresB, labelsB, 2. / 3, 0.5},
		{"C 0: nothing accepted", scoresC, labelsC, 0, math.Nextafter(0.9, 2)},
		{"C 0.5", scoresC, labelsC, 0.5, 0.5},
		// 57 of 100 different pairs accepted is a rate of 0.57 exactly.
		{"decimal boundary", append(seq(100, 0), 1000), append(make([]float64, 100), 1), 0.57, 44},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, err := CalibrateFAR(tc.scores, tc.labels, tc.far)
			if err != nil {
				t.Fatal(err)
			}
			if th != tc.want {
				t.Errorf("CalibrateFAR(%v) = %v, want %v", tc.far, th, tc.want)
			}
		})
	}
}

// seq returns n, n-1, ..., 1 plus offset.
func seq(n int, offset float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(n-i) + offset
	}
	return s
}

func TestMetricErrors(t *testing.T) {
	nan := math.NaN()
	type call func(s, l []float64) error
	calls := map[string]call{
		"Accuracy": func(s, l []float64) error { _, err := Accuracy(s, l, 0.5); return err },
		"ROC":      func(s, l []float64) error { _, err := ROC(s, l); return err },
		"AUC":      func(s, l []float64) error { _, err := AUC(s, l); return err },
		"EER":      func(s, l []float64) error { _, _, err := EER(s, l); return err },
		"F1":       func(s, l []float64) error { _, _, err := CalibrateF1(s, l); return err },
		"FAR":      func(s, l []float64) error { _, err := CalibrateFAR(s, l, 0.1); return err },
	}
	for _, tc := range []struct {
		name           string
		scores, labels []float64
		want           error
		notAccuracy    bool
	}{
		{"empty", nil, nil, ErrEmpty, false},
		{"length", []float64{1, 2}, []float64{1}, ErrLength, false},
		{"label 2", []float64{1, 2}, []float64{1, 2}, ErrLabel, false},
		{"label -1", []float64{1, 2}, []float64{-1, 0}, ErrLabel, false},
		{"label 0.5", []float64{1, 2}, []float64{1, 0.5}, ErrLabel, false},
		{"label NaN", []float64{1, 2}, []float64{1, nan}, ErrLabel, false},
		{"score NaN", []float64{1, nan}, []float64{1, 0}, ErrNaN, false},
		{"only same", []float64{1, 2}, []float64{1, 1}, ErrOneClass, true},
		{"only different", []float64{1, 2}, []float64{0, 0}, ErrOneClass, true},
	} {
		for name, f := range calls {
			err := f(tc.scores, tc.labels)
			if tc.notAccuracy && name == "Accuracy" {
				if err != nil {
					t.Errorf("%s, %s: %v", name, tc.name, err)
				}
				continue
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("%s, %s: error %v, want %v", name, tc.name, err, tc.want)
			} else if !strings.HasPrefix(err.Error(), "eval: ") {
				t.Errorf("%s, %s: error %q lacks the package prefix", name, tc.name, err)
			}
		}
	}
	if _, err := Accuracy(scoresA, labelsA, nan); !errors.Is(err, ErrNaN) {
		t.Errorf("Accuracy with NaN threshold: %v", err)
	}
	for _, far := range []float64{-0.1, 1.1, nan} {
		if _, err := CalibrateFAR(scoresA, labelsA, far); err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("CalibrateFAR(%v): error %v", far, err)
		}
	}
}

// TestMetricsRandom checks the metrics against brute force on random
// data with many ties.
func TestMetricsRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		n := 2 + rng.Intn(40)
		scores := make([]float64, n)
		labels := make([]float64, n)
		for i := range scores {
			scores[i] = float64(rng.Intn(8)) / 8
			labels[i] = float64(rng.Intn(2))
		}
		labels[0], labels[1] = 0, 1
		pos, neg := 0, 0
		var wins float64
		for i := range scores {
			if labels[i] == 1 {
				pos++
				for j := range scores {
					if labels[j] == 0 {
						switch {
						case scores[i] > scores[j]:
							wins++
						case scores[i] == scores[j]:
							wins += 0.5
						}
					}
				}
			} else {
				neg++
			}
		}
		auc, err := AUC(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		if !near(auc, wins/float64(pos*neg)) {
			t.Fatalf("AUC %v, brute force %v", auc, wins/float64(pos*neg))
		}
		c, _ := ROC(scores, labels)
		if !near(c.AUC(), auc) {
			t.Fatalf("Curve.AUC %v, AUC %v", c.AUC(), auc)
		}
		rates := func(th float64) (far, frr, f1 float64) {
			tp, fp := 0, 0
			for i, s := range scores {
				if s >= th {
					if labels[i] == 1 {
						tp++
					} else {
						fp++
					}
				}
			}
			return float64(fp) / float64(neg), 1 - float64(tp)/float64(pos), 2 * float64(tp) / float64(tp+fp+pos)
		}
		distinct := append([]float64(nil), scores...)
		sort.Float64s(distinct)

		th, f1, _ := CalibrateF1(scores, labels)
		if _, _, got := rates(th); !near(got, f1) {
			t.Fatalf("F1 at %v is %v, reported %v", th, got, f1)
		}
		for _, s := range distinct {
			if _, _, f := rates(s); f > f1+1e-12 || (near(f, f1) && s > th) {
				t.Fatalf("F1 %v at %v beats %v at %v", f, s, f1, th)
			}
		}

		far := float64(rng.Intn(5)) / 4
		th, _ = CalibrateFAR(scores, labels, far)
		if got, _, _ := rates(th); got > far {
			t.Fatalf("FAR at %v is %v > %v", th, got, far)
		}
		for _, s := range distinct {
			if got, _, _ := rates(s); s < th && got <= far {
				t.Fatalf("threshold %v also meets FAR %v (%v), below %v", s, far, got, th)
			}
		}

		rate, eth, _ := EER(scores, labels)
		if !(rate >= 0 && rate <= 1) || math.IsNaN(eth) {
			t.Fatalf("EER %v at %v", rate, eth)
		}
		// The rate lies between the FAR and FRR of the thresholds on
		// either side of the crossing; at any threshold max(FAR, FRR)
		// is at least the EER.
		for _, s := range distinct {
			a, r, _ := rates(s)
			if math.Max(a, r) < rate-1e-12 {
				t.Fatalf("at %v FAR %v FRR %v both below the EER %v", s, a, r, rate)
			}
		}
	}
}
