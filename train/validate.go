package train

import (
	"fmt"
	"math"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/siamese"
)

// validate fills the validation fields of es: mean binary cross-entropy,
// accuracy at 0.5, ROC AUC and equal error rate.
func validate(m *siamese.Model, val Validation, es *EpochStats) error {
	logits, labels, err := val.Logits(m)
	if err != nil {
		return fmt.Errorf("train: validation: %w", err)
	}
	if len(logits) == 0 || len(logits) != len(labels) {
		return fmt.Errorf("train: validation: %d logits for %d labels", len(logits), len(labels))
	}
	scores := make([]float64, len(logits))
	var l float64
	for i, z := range logits {
		scores[i] = sigmoid(z)
		// softplus(z) - y z, stably
		l += math.Max(z, 0) - z*labels[i] + math.Log1p(math.Exp(-math.Abs(z)))
	}
	es.ValLoss = l / float64(len(logits))
	if es.ValAccuracy, err = eval.Accuracy(scores, labels, 0.5); err != nil {
		return fmt.Errorf("train: validation: %w", err)
	}
	if es.ValAUC, err = eval.AUC(scores, labels); err != nil {
		return fmt.Errorf("train: validation: %w", err)
	}
	if es.ValEER, _, err = eval.EER(scores, labels); err != nil {
		return fmt.Errorf("train: validation: %w", err)
	}
	return nil
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
