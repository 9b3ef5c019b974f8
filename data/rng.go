package data

import (
	"math/bits"
	"math/rand/v2"
)

// Domains separate the random streams of different uses of one seed.
const (
	domainSplit   = 0x73706c6974 // "split"
	domainSampler = 0x70616972   // "pair"
	domainFixed   = 0x6669786564 // "fixed"
	domainAugment = 0x61756720   // "aug "
	domainImages  = 0x696d6773   // "imgs"
	domainHold    = 0x686f6c64   // "hold"
	domainOutlier = 0x6f75746c   // "outl"
)

// splitmix64 is the SplitMix64 finaliser, a bijective mixer.
func splitmix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// derive returns a PCG generator keyed by seed, a domain and any number
// of counters (a step, a position). Keys are mixed with SplitMix64 so that
// neighbouring counters give unrelated streams. The result depends on
// nothing else: no clock, no global state.
func derive(seed, domain uint64, parts ...uint64) *rand.PCG {
	h := splitmix64(seed ^ splitmix64(domain))
	for _, p := range parts {
		h = splitmix64(h ^ splitmix64(p+0x5851F42D4C957F2D))
	}
	return rand.NewPCG(h, splitmix64(h^0xD1B54A32D192ED03))
}

// uintn returns a uniform integer in [0, n), n > 0, with Lemire's
// multiply-and-reject method on src. Written out here (rather than
// rand.Rand.IntN) so sequences are fixed by this package.
func uintn(src rand.Source, n uint64) uint64 {
	for {
		x := src.Uint64()
		hi, lo := bits.Mul64(x, n)
		if lo >= n || lo >= (-n)%n {
			return hi
		}
	}
}

// intn is uintn for int.
func intn(src rand.Source, n int) int { return int(uintn(src, uint64(n))) }

// shuffle permutes s with Fisher-Yates driven by src.
func shuffle(src rand.Source, s []int) {
	for i := len(s) - 1; i > 0; i-- {
		j := intn(src, i+1)
		s[i], s[j] = s[j], s[i]
	}
}
