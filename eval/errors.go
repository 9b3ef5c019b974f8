package eval

import "errors"

// Errors returned (wrapped, with context) by the metrics; test for them
// with errors.Is.
var (
	// ErrEmpty: no scores were given.
	ErrEmpty = errors.New("eval: no scores")
	// ErrLength: scores and labels differ in length.
	ErrLength = errors.New("eval: scores and labels differ in length")
	// ErrLabel: a label is neither 0 ("different") nor 1 ("same").
	ErrLabel = errors.New("eval: label is not 0 or 1")
	// ErrNaN: a score (or a threshold or rate argument) is NaN.
	ErrNaN = errors.New("eval: NaN")
	// ErrOneClass: all labels are equal, so a rate that needs both
	// classes (ROC, AUC, EER, calibration) is undefined.
	ErrOneClass = errors.New("eval: only one class present")
)
