package layers

import (
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Fill sets every element of p to v.
func Fill(p *Param, v float64) {
	switch d := p.Value.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(v)
		}
	case []float64:
		for i := range d {
			d[i] = v
		}
	}
}

// fillWith sets every element of p to f().
func fillWith(p *Param, f func() float64) {
	switch d := p.Value.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(f())
		}
	case []float64:
		for i := range d {
			d[i] = f()
		}
	}
}

// InitNormal fills p with samples of N(0, std²) from rng.
func InitNormal(p *Param, std float64, rng *rand.Rand) {
	fillWith(p, func() float64 { return rng.NormFloat64() * std })
}

// InitUniform fills p with samples of U(-bound, bound) from rng.
func InitUniform(p *Param, bound float64, rng *rand.Rand) {
	fillWith(p, func() float64 { return (2*rng.Float64() - 1) * bound })
}

// InitKaimingNormalFanOut fills a convolution weight (out, in, kh, kw) as
// torchvision's ResNet does: N(0, 2/fan_out), fan_out = out*kh*kw.
func InitKaimingNormalFanOut(p *Param, rng *rand.Rand) {
	s := p.Value.Shape()
	fanOut := s[0]
	for _, d := range s[2:] {
		fanOut *= d
	}
	InitNormal(p, math.Sqrt(2/float64(fanOut)), rng)
}

// InitLinear fills a Dense layer as PyTorch's Linear does: weight and bias
// from U(-1/sqrt(in), 1/sqrt(in)).
func InitLinear(l *Dense, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(l.Weight.Value.Shape()[1]))
	InitUniform(l.Weight, bound, rng)
	if l.Bias != nil {
		InitUniform(l.Bias, bound, rng)
	}
}

// Float32s returns the float32 data of p (nil for another dtype).
func (p *Param) Float32s() []float32 {
	d, _ := p.Value.Data().([]float32)
	return d
}

// Shape returns the shape of p's value.
func (p *Param) Shape() tensor.Shape { return p.Value.Shape() }

// InitGlorotUniform fills a Dense layer as Keras' Dense does by default:
// weight from U(-sqrt(6/(in+out)), sqrt(6/(in+out))), bias 0.
func InitGlorotUniform(l *Dense, rng *rand.Rand) {
	s := l.Weight.Value.Shape()
	InitUniform(l.Weight, math.Sqrt(6/float64(s[0]+s[1])), rng)
	if l.Bias != nil {
		Fill(l.Bias, 0)
	}
}
