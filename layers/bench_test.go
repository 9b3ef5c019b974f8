package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
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

// BenchmarkConvGradX times the gradient for x of ResNet-50's stride-1 3x3
// convolutions at 32x32 input (batch 64) and 64x64 (batch 16), through the
// flipped weights (convTilesGradXFlipped) and through the columns and
// col2im: go test -run '^$' -bench ConvGradX -count 4 ./layers
func BenchmarkConvGradX(b *testing.B) {
	mk := tiledConv[float32]()
	if mk == nil {
		b.Skip("this build or CPU has no tile path")
	}
	g := convGeom{kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1}
	for _, s := range []struct{ n, c, h int }{{64, 64, 8}, {64, 128, 4}, {64, 256, 2}, {64, 512, 1}, {16, 64, 16}, {16, 128, 8}, {16, 256, 4}, {16, 512, 2}} {
		for _, flip := range []bool{false, true} {
			b.Run(fmt.Sprintf("n%d_c%d_%dx%d/flip=%v", s.n, s.c, s.h, s.h, flip), func(b *testing.B) {
				defer func(v bool) { convGradFlip = v }(convGradFlip)
				convGradFlip = flip
				rng := rand.New(rand.NewPCG(1, 2))
				xs := tensor.Shape{s.n, s.c, s.h, s.h}
				wt, dy := randF32(rng, s.c*s.c*9), randF32(rng, xs.TotalSize())
				dx := make([]float32, xs.TotalSize())
				for range b.N {
					convBackward(g, 0, xs, xs, nil, wt, dy, dx)
				}
			})
		}
	}
}
