// Package detrand generates deterministic pseudo-random tensors from a name,
// with an integer recipe simple enough to write again in any language.
// Reference scripts (testdata/torchvision_reference.py) use the same recipe,
// so large weight sets can be rebuilt on both sides instead of committed.
//
// The recipe for element i (0-based) of the tensor called name:
//
//	seed = FNV-1a 64 of the UTF-8 bytes of name
//	z    = seed + (i+1)*0x9E3779B97F4A7C15           (mod 2^64)
//	z    = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9       (mod 2^64)
//	z    = (z ^ (z >> 27)) * 0x94D049BB133111EB       (mod 2^64)
//	z    = z ^ (z >> 31)
//	u    = float64(z >> 40) / 2^24                    (in [0, 1), exact in float32)
//	v    = float32(lo + (hi-lo)*u)                    (computed in float64)
package detrand

import (
	"image"
	"math"
	"strings"

	"github.com/gosiamese/gosiamese/layers"
)

// Hash returns the 64-bit FNV-1a hash of s.
func Hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Uniform returns n values of the recipe for name, uniform in [lo, hi).
func Uniform(name string, n int, lo, hi float64) []float32 {
	seed := Hash(name)
	out := make([]float32, n)
	for i := range out {
		z := seed + uint64(i+1)*0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		u := float64(z>>40) / (1 << 24)
		out[i] = float32(lo + (hi-lo)*u)
	}
	return out
}

// ParamRange is the range the reference scripts draw a ResNet parameter
// from, by its torchvision name and shape (param_range in
// testdata/torchvision_reference.py): He-uniform convolutions, BatchNorm
// scale in [0.5, 1.5), shift and running mean in [-0.2, 0.2), running
// variance in [0.5, 2), PyTorch's Linear bound for fc.
func ParamRange(name string, shape []int) (lo, hi float64) {
	switch {
	case strings.HasSuffix(name, "running_mean"):
		return -0.2, 0.2
	case strings.HasSuffix(name, "running_var"):
		return 0.5, 2.0
	case len(shape) == 4:
		a := math.Sqrt(6 / float64(shape[1]*shape[2]*shape[3]))
		return -a, a
	case strings.HasPrefix(name, "fc."):
		in := 2048
		if strings.HasSuffix(name, "weight") {
			in = shape[len(shape)-1]
		}
		a := 1 / math.Sqrt(float64(in))
		return -a, a
	case strings.HasSuffix(name, "weight"):
		return 0.5, 1.5
	}
	return -0.2, 0.2
}

// FillParams sets every parameter from the recipe, in its ParamRange.
func FillParams(ps []*layers.Param) {
	for _, p := range ps {
		lo, hi := ParamRange(p.Name, p.Value.Shape())
		copy(p.Float32s(), Uniform(p.Name, p.Value.Shape().TotalSize(), lo, hi))
	}
}

// Image returns the reference scripts' h x w RGB test image called name:
// pixel bytes floor(Uniform(name, h*w*3, 0, 256)) in HWC order.
func Image(name string, h, w int) *image.NRGBA {
	v := Uniform(name, h*w*3, 0, 256)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < h*w; i++ {
		img.Pix[4*i] = uint8(v[3*i])
		img.Pix[4*i+1] = uint8(v[3*i+1])
		img.Pix[4*i+2] = uint8(v[3*i+2])
		img.Pix[4*i+3] = 255
	}
	return img
}
