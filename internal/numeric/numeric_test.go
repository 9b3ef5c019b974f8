package numeric

import (
	"math"
	"testing"
)

func TestSigmoid(t *testing.T) {
	for _, c := range []struct{ z, want float64 }{
		{0, 0.5},
		{math.Log(3), 0.75},
		{-math.Log(3), 0.25},
		{800, 1},
		{-800, 0},
	} {
		if got := Sigmoid(c.z); math.Abs(got-c.want) > 1e-15 || math.IsNaN(got) {
			t.Errorf("Sigmoid(%g) = %g, want %g", c.z, got, c.want)
		}
	}
	// Symmetric: Sigmoid(-z) = 1 - Sigmoid(z).
	for _, z := range []float64{0.1, 1, 7, 30} {
		if d := Sigmoid(-z) - (1 - Sigmoid(z)); math.Abs(d) > 1e-15 {
			t.Errorf("Sigmoid(-%g) + Sigmoid(%g) - 1 = %g", z, z, d)
		}
	}
}
