package index

import (
	"math"

	"github.com/gosiamese/gosiamese/siamese"
)

// The distances are summed in float32 with four accumulators, in a fixed
// order, so that a distance is the same bit for bit wherever it is
// computed (search, exact search, a loaded index).

func l1(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += abs(a[i] - b[i])
		s1 += abs(a[i+1] - b[i+1])
		s2 += abs(a[i+2] - b[i+2])
		s3 += abs(a[i+3] - b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += abs(a[i] - b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func abs(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

func l2(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0, d1, d2, d3 := a[i]-b[i], a[i+1]-b[i+1], a[i+2]-b[i+2], a[i+3]-b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// invNorm is 1/|v|, or 0 for a zero vector (whose cosine distance to
// anything is then 1).
func invNorm(v []float32) float32 {
	n := math.Sqrt(float64(dot(v, v)))
	if n == 0 {
		return 0
	}
	return float32(1 / n)
}

// distance is the metric's distance between q (of inverse norm qn, used
// by Cosine) and v (of inverse norm vn).
func distance(metric siamese.Distance, q []float32, qn float32, v []float32, vn float32) float32 {
	switch metric {
	case siamese.L1:
		return l1(q, v)
	case siamese.L2:
		return l2(q, v)
	}
	return 1 - dot(q, v)*qn*vn
}
