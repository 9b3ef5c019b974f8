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
