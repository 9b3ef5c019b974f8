package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkBatchNormTrain runs BatchNorm with its ReLU forward and backward
// (the per-channel sums, then dx) on batch statistics, as a training step
// does, on a ResNet-50 layer1 activation at 64x64 (batch 16) and a layer4
// one.
func BenchmarkBatchNormTrain(b *testing.B) {
	for _, s := range [][3]int{{16, 256, 16 * 16}, {16, 2048, 2 * 2}} {
		n, c, sp := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("n%d_c%d_hw%d", n, c, sp), func(b *testing.B) {
			b.ReportAllocs()
			rng := rand.New(rand.NewPCG(1, 2))
			x, dy := randF32(rng, n*c*sp), randF32(rng, n*c*sp)
			y, dx := make([]float32, n*c*sp), make([]float32, n*c*sp)
			gamma, beta := randF32(rng, c), randF32(rng, c)
			rm, rv := make([]float32, c), make([]float32, c)
			sums := make([]float32, 2*c)
			fwd := &bnOp{opBase: opBase{Name: "bn"}, dims: 4, train: true, relu: true, eps: 1e-5, momentum: 0.1}
			gs := &bnGradOp{fwd: fwd, which: bnSums}
			gx := &bnGradOp{fwd: fwd, which: bnGradX}
			b.ResetTimer()
			for range b.N {
				if err := bnForward(fwd, n, c, sp, x, gamma, beta, rm, rv, y); err != nil {
					b.Fatal(err)
				}
				bnBackward(gs, n, c, sp, x, y, dy, nil, nil, rm, rv, sums)
				bnBackward(gx, n, c, sp, x, y, dy, gamma, sums, rm, rv, dx)
			}
		})
	}
}
