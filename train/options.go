package train

// Metric is the validation figure that Plateau, EarlyStopping and the
// choice of the best model watch. Its value is the name saved in
// checkpoints.
type Metric string

const (
	// MetricAUC is the validation pairs' AUC, higher being better; the
	// default.
	MetricAUC Metric = "auc"
	// MetricLoss is the validation loss, lower being better.
	MetricLoss Metric = "loss"
)

// Calibration is how the model's verdict threshold is set from the
// validation scores when the validation metric improves. Its value is the
// name saved in checkpoints; the zero value means CalibrateF1.
type Calibration string

const (
	// CalibrateF1 picks the F1-optimal threshold (eval.CalibrateF1), or,
	// with Config.TargetFAR > 0, the lowest one whose false-accept rate is
	// at most TargetFAR (eval.CalibrateFAR).
	CalibrateF1 Calibration = "f1"
	// CalibrateNone keeps the model's threshold.
	CalibrateNone Calibration = "none"
)
