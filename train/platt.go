package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/gosiamese/gosiamese/eval"
	"github.com/gosiamese/gosiamese/internal/numeric"
	"github.com/gosiamese/gosiamese/siamese"
)

// ErrMisranked is PlattScale's error when the model ranks the validation
// pairs the wrong way round (different pairs above same ones, as an
// untrained model may): no positive scale fits, and the model is left as
// it was.
var ErrMisranked = errors.New("train: Platt scaling: the model ranks the validation pairs the wrong way round")

// CalibrationBins is the number of equal-width score bins of the
// calibration error (ECE) and reliability diagrams the package reports.
const CalibrationBins = 10

// PlattResult is what PlattScale did.
type PlattResult struct {
	// A and B map the old logit z to the new one, A*z + B.
	A, B float64
	// Threshold is the verdict threshold calibrated on the new scores.
	Threshold float64
	// ECEBefore and ECEAfter are the expected calibration errors of the
	// validation pairs' scores before and after.
	ECEBefore, ECEAfter float64
	// Before and After are their reliability diagrams.
	Before, After []eval.Bin
}

// PlattScale calibrates m's scores on held-out pairs: it fits Platt
// scaling (eval.Platt) to m's logits on val and folds it into the output
// layer, so that the model's Score is a probability on data like val's.
// The head's form is kept: the logit bias - Σ|u_i| d_i becomes
// (A*bias + B) - Σ|A*u_i| d_i, with A > 0, so an image compared with
// itself still gets the highest score the model can give. The ranking of
// pairs does not change. The verdict threshold is then calibrated again on
// the new scores (the F1 optimum, or the false-accept limit targetFAR >
// 0). m is changed in place; it is an error, leaving m as it was, when
// the fitted A is not positive (ErrMisranked).
func PlattScale(m *siamese.Model, val *PairValidation, targetFAR float64) (PlattResult, error) {
	var r PlattResult
	logits, labels, err := val.Logits(m)
	if err != nil {
		return r, err
	}
	before := make([]float64, len(logits))
	for i, z := range logits {
		before[i] = numeric.Sigmoid(z)
	}
	if r.Before, r.ECEBefore, err = reliability(before, labels); err != nil {
		return r, err
	}
	if r.A, r.B, err = eval.Platt(logits, labels); err != nil {
		return r, fmt.Errorf("train: Platt scaling: %w", err)
	}
	if !(r.A > 0) || math.IsInf(r.A, 0) || math.IsNaN(r.B) || math.IsInf(r.B, 0) {
		return r, fmt.Errorf("%w (fitted scale %g, offset %g)", ErrMisranked, r.A, r.B)
	}
	var w, b []float32
	for _, p := range m.Network().Params() {
		switch p.Name {
		case "out.weight":
			w = p.Float32s()
		case "out.bias":
			b = p.Float32s()
		}
	}
	if w == nil || len(b) != 1 {
		return r, fmt.Errorf("train: Platt scaling: the model has no output layer (out.weight, out.bias)")
	}
	if err := m.Network().ChangeParams(func() error {
		for i := range w {
			w[i] = float32(r.A * float64(w[i]))
		}
		b[0] = float32(r.A*float64(b[0]) + r.B)
		return nil
	}); err != nil {
		return r, err
	}
	scores, labels, err := val.Scores(m)
	if err != nil {
		return r, err
	}
	if r.After, r.ECEAfter, err = reliability(scores, labels); err != nil {
		return r, err
	}
	if r.Threshold, err = calibrate(m, scores, labels, targetFAR); err != nil {
		return r, err
	}
	return r, nil
}

// reliability returns the reliability diagram and ECE of scores.
func reliability(scores, labels []float64) ([]eval.Bin, float64, error) {
	bins, err := eval.Reliability(scores, labels, CalibrationBins)
	if err != nil {
		return nil, 0, fmt.Errorf("train: calibration error: %w", err)
	}
	e, err := eval.ECE(scores, labels, CalibrationBins)
	if err != nil {
		return nil, 0, fmt.Errorf("train: calibration error: %w", err)
	}
	return bins, e, nil
}
