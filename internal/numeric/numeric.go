// Package numeric holds the few numeric helpers and constants that the
// model, its losses and its training share, so that a score computed on a
// graph and one computed in float64 agree.
package numeric

import "math"

// Eps keeps a norm or distance away from zero before a square root:
// sqrt(x + Eps). Without it the gradient of sqrt is infinite at 0, so
// identical embeddings would give 0/0.
const Eps = 1e-12

// Sigmoid is the logistic function 1/(1+exp(-z)), computed without
// overflow for either sign of z.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
