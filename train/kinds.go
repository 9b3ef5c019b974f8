package train

import (
	"fmt"
	"slices"
	"strings"
)

// OptimizerKind is an update rule. Its value is the name saved in
// checkpoints; the zero value means Adam.
type OptimizerKind string

const (
	// Adam is Kingma and Ba's Adam, as torch.optim.Adam.
	Adam OptimizerKind = "adam"
	// SGD is stochastic gradient descent with momentum, as torch.optim.SGD.
	SGD OptimizerKind = "sgd"
)

// ParseOptimizerKind reads a flag's value: "adam" or "sgd" in any case;
// "" is Adam.
func ParseOptimizerKind(s string) (OptimizerKind, error) {
	k := OptimizerKind(strings.ToLower(strings.TrimSpace(s)))
	if k == "" {
		return Adam, nil
	}
	if !slices.Contains([]OptimizerKind{Adam, SGD}, k) {
		return "", fmt.Errorf("train: unknown optimizer %q (want adam or sgd)", s)
	}
	return k, nil
}

// ScheduleKind is how the learning rate changes over a run. Its value is
// the name saved in checkpoints; the zero value means ConstantSchedule.
type ScheduleKind string

const (
	// ConstantSchedule keeps the base rate.
	ConstantSchedule ScheduleKind = "constant"
	// StepSchedule multiplies the rate by Schedule.Gamma every
	// Schedule.StepEpochs epochs.
	StepSchedule ScheduleKind = "step"
	// CosineSchedule decays the rate along a half cosine to
	// Schedule.MinFactor at the run's end.
	CosineSchedule ScheduleKind = "cosine"
)

// ParseScheduleKind reads a flag's value: "constant", "step" or "cosine"
// in any case; "" is ConstantSchedule.
func ParseScheduleKind(s string) (ScheduleKind, error) {
	k := ScheduleKind(strings.ToLower(strings.TrimSpace(s)))
	if k == "" {
		return ConstantSchedule, nil
	}
	if !slices.Contains([]ScheduleKind{ConstantSchedule, StepSchedule, CosineSchedule}, k) {
		return "", fmt.Errorf("train: unknown schedule %q (want constant, step or cosine)", s)
	}
	return k, nil
}

// HoldoutKind is what a recipe holds out of the training data for model
// selection. Its value is the name saved in run records; the zero value
// means HoldClasses.
type HoldoutKind string

const (
	// HoldClasses holds out whole classes, so that validation measures
	// the model on classes it never saw: the one-shot setting, where the
	// classes met in use are new (Omniglot's alphabets, new people).
	HoldClasses HoldoutKind = "classes"
	// HoldImages holds out images of every class, so that validation
	// measures the model on new images of the classes it trained on: the
	// setting where the classes met in use are the training classes
	// (MNIST's ten digits, a fixed catalogue).
	HoldImages HoldoutKind = "images"
	// HoldBoth holds out whole classes and, of the other classes, images:
	// validation measures new classes and new images of the training
	// classes together. For data with few classes, where the few classes
	// held out are too few to choose an epoch or calibrate a threshold.
	HoldBoth HoldoutKind = "both"
	// HoldAuto is HoldClasses when that holds out MinValClasses classes
	// or more, HoldBoth when it holds out fewer.
	HoldAuto HoldoutKind = "auto"
)

// MinValClasses is the number of held-out classes from which HoldAuto
// holds out classes alone: enough for 20-way one-shot tasks.
const MinValClasses = 20

// ParseHoldoutKind reads a flag's value: "classes", "images", "both" or
// "auto" in any case; "" is HoldClasses.
func ParseHoldoutKind(s string) (HoldoutKind, error) {
	k := HoldoutKind(strings.ToLower(strings.TrimSpace(s)))
	if k == "" {
		return HoldClasses, nil
	}
	if !slices.Contains([]HoldoutKind{HoldClasses, HoldImages, HoldBoth, HoldAuto}, k) {
		return "", fmt.Errorf("train: unknown holdout %q (want classes, images, both or auto)", s)
	}
	return k, nil
}
