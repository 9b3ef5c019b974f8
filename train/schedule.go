package train

import (
	"fmt"
	"math"
)

// Schedule scales the learning rate over the run. Zero value: constant.
type Schedule struct {
	// Kind is how the rate changes; default ConstantSchedule.
	Kind ScheduleKind
	// WarmupSteps ramps the rate linearly from 0 over the first steps
	// (any kind); default 0.
	WarmupSteps int
	// StepEpochs and Gamma: StepSchedule multiplies the rate by Gamma every
	// StepEpochs epochs (defaults 10 and 0.1).
	StepEpochs int
	Gamma      float64
	// MinFactor is where CosineSchedule ends, as a fraction of the base rate
	// (default 0).
	MinFactor float64
}

// Validate reports what is wrong with s, or nil.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "", ConstantSchedule, StepSchedule, CosineSchedule:
	default:
		return fmt.Errorf("train: schedule %q (want constant, step or cosine)", s.Kind)
	}
	if s.WarmupSteps < 0 || s.StepEpochs < 0 || s.Gamma < 0 || s.MinFactor < 0 || s.MinFactor > 1 {
		return fmt.Errorf("train: schedule %+v has a negative or out-of-range field", s)
	}
	return nil
}

// factor returns the multiplier of the base rate at a step, a pure
// function of the step so that a resumed run follows the same curve.
func (s Schedule) factor(step, stepsPerEpoch, totalSteps uint64) float64 {
	f := 1.0
	switch s.Kind {
	case StepSchedule:
		every, gamma := s.StepEpochs, s.Gamma
		if every == 0 {
			every = 10
		}
		if gamma == 0 {
			gamma = 0.1
		}
		f = math.Pow(gamma, float64(step/stepsPerEpoch/uint64(every)))
	case CosineSchedule:
		if totalSteps > 0 {
			p := min(float64(step)/float64(totalSteps), 1)
			f = s.MinFactor + (1-s.MinFactor)*0.5*(1+math.Cos(math.Pi*p))
		}
	}
	if w := uint64(s.WarmupSteps); step < w {
		f *= float64(step+1) / float64(w)
	}
	return f
}

// Plateau lowers the learning rate when the validation metric stops
// improving, as Keras' ReduceLROnPlateau. Zero Patience turns it off.
type Plateau struct {
	// Patience is the number of epochs without improvement before the
	// rate is cut.
	Patience int
	// Factor multiplies the rate at each cut; default 0.1.
	Factor float64
	// MinFactor is the lowest multiplier of the base rate; default 1e-3.
	MinFactor float64
}
