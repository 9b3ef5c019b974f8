package train

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/siamese"
)

// validate fills the validation fields of es: mean binary cross-entropy,
// accuracy at 0.5, ROC AUC and equal error rate. It returns the scores and
// labels for calibration and plots.
func validate(m *siamese.Model, val Validation, es *EpochStats) (scores, labels []float64, err error) {
	logits, labels, err := val.Logits(m)
	if err != nil {
		return nil, nil, fmt.Errorf("train: validation: %w", err)
	}
	if len(logits) == 0 || len(logits) != len(labels) {
		return nil, nil, fmt.Errorf("train: validation: %d logits for %d labels", len(logits), len(labels))
	}
	scores = make([]float64, len(logits))
	var l float64
	for i, z := range logits {
		scores[i] = numeric.Sigmoid(z)
		// softplus(z) - y z, stably
		l += math.Max(z, 0) - z*labels[i] + math.Log1p(math.Exp(-math.Abs(z)))
	}
	es.ValLoss = l / float64(len(logits))
	if es.ValAccuracy, err = eval.Accuracy(scores, labels, 0.5); err != nil {
		return nil, nil, fmt.Errorf("train: validation: %w", err)
	}
	if es.ValAUC, err = eval.AUC(scores, labels); err != nil {
		return nil, nil, fmt.Errorf("train: validation: %w", err)
	}
	if es.ValEER, _, err = eval.EER(scores, labels); err != nil {
		return nil, nil, fmt.Errorf("train: validation: %w", err)
	}
	return scores, labels, nil
}

// score is es's validation metric as the trainer compares epochs: higher
// is better.
func score(es EpochStats, metric Metric) float64 {
	if metric == MetricLoss {
		return -es.ValLoss
	}
	return es.ValAUC
}

// BestEpoch returns the epoch of history whose validation metric (as
// Config.Metric; "" is MetricAUC) is best, the first of equals:
// the epoch whose model the trainer saved as BestModel. ok is false when
// history has no validated epoch.
func BestEpoch(history []EpochStats, metric Metric) (best EpochStats, ok bool) {
	for _, e := range history {
		v := score(e, metric)
		if math.IsNaN(v) {
			continue
		}
		if !ok || v > score(best, metric) {
			best, ok = e, true
		}
	}
	return best, ok
}

// calibrate sets the model's verdict threshold from validation scores: the
// F1-optimal threshold, or the one meeting a target false-accept rate.
func calibrate(m *siamese.Model, scores, labels []float64, targetFAR float64) (float64, error) {
	var t float64
	var err error
	if targetFAR > 0 {
		t, err = eval.CalibrateFAR(scores, labels, targetFAR)
	} else {
		t, _, err = eval.CalibrateF1(scores, labels)
	}
	if err != nil {
		return 0, fmt.Errorf("train: calibration: %w", err)
	}
	t = math.Min(t, 1)
	if err := m.SetThreshold(t); err != nil {
		return 0, fmt.Errorf("train: calibration: %w", err)
	}
	return t, nil
}

// plot writes the training curves and the latest ROC curve as PNG files.
func plot(dir string, history []EpochStats, scores, labels []float64) error {
	series := map[string][]float64{}
	for _, e := range history {
		series["train loss"] = append(series["train loss"], e.TrainLoss)
		if !math.IsNaN(e.ValLoss) {
			series["validation loss"] = append(series["validation loss"], e.ValLoss)
			series["validation AUC"] = append(series["validation AUC"], e.ValAUC)
		}
	}
	if err := eval.PlotCurves(filepath.Join(dir, CurvesPlot), "training", series); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if scores == nil {
		return nil
	}
	roc, err := eval.ROC(scores, labels)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := eval.PlotROC(filepath.Join(dir, ROCPlot), map[string]eval.Curve{"validation": roc}); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
