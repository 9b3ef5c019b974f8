package siamese

import (
	"math"
	"testing"
)

func TestDistanceBetween(t *testing.T) {
	a, b := Embedding{1, 2, 2}, Embedding{2, 0, 2}
	for _, c := range []struct {
		d    Distance
		want float64
	}{{L1, 3}, {L2, 5}, {Cosine, 1 - 6.0/(3*math.Sqrt(8))}} {
		got, err := c.d.Between(a, b)
		if err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v: %v (%v), want %v", c.d, got, err, c.want)
		}
		if self, _ := c.d.Between(a, a); math.Abs(self) > 1e-12 {
			t.Errorf("%v: distance of an embedding to itself %v", c.d, self)
		}
	}
	if _, err := L1.Between(a, b[:2]); err == nil {
		t.Error("lengths 3 and 2 accepted")
	}
	if _, err := Distance(9).Between(a, b); err == nil {
		t.Error("distance 9 accepted")
	}
}
