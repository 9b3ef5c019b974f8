//go:build amd64 && !purego && !openblas

package layers

import "golang.org/x/sys/cpu"

// Vector code for the elementwise passes over float32 activations (the
// convolution's epilogue, the ReLU) on amd64 CPUs with AVX2 (vec_amd64.s);
// the Go loops do the rest of a slice and everything elsewhere. Both round
// each operation alike, so a value's result does not depend on which of
// them computes it.

var (
	vecAVX2   = cpu.X86.HasAVX2
	vecAVX512 = cpu.X86.HasAVX512F
)

//go:noescape
func affineAVX2(dst, src, res *float32, n int, scale, shift float32, relu bool)

//go:noescape
func affineAVX512(dst, src, res *float32, n int, scale, shift float32, relu bool)

//go:noescape
func reluAVX2(s *float32, n int)

//go:noescape
func maskPosAVX2(y, dy, out *float32, n int)

// maskPosVec is maskPos on a prefix of y whose length it returns: a
// multiple of 8, 0 without AVX2. dy and out hold at least len(y) values.
func maskPosVec(y, dy, out []float32) int {
	n := len(y) &^ 7
	if !vecAVX2 || n == 0 {
		return 0
	}
	_, _ = dy[n-1], out[n-1]
	maskPosAVX2(&y[0], &dy[0], &out[0], n)
	return n
}

// affineVec sets dst[i] to act(src[i]*scale + shift + res[i]) (no res when
// nil, act the ReLU when relu) for a prefix of dst and returns its length:
// a multiple of 8, 0 without AVX2. src and res hold at least len(dst)
// values. With AVX-512 it takes 16 values at a time, then 8.
func affineVec(dst, src, res []float32, scale, shift float32, relu bool) int {
	n := len(dst) &^ 7
	if !vecAVX2 || n == 0 {
		return 0
	}
	_ = src[n-1]
	if res != nil {
		_ = res[n-1]
	}
	done := 0
	if n16 := n &^ 15; vecAVX512 && n16 > 0 {
		affineAVX512(&dst[0], &src[0], first(res), n16, scale, shift, relu)
		done = n16
	}
	if done < n {
		var r *float32
		if res != nil {
			r = &res[done]
		}
		affineAVX2(&dst[done], &src[done], r, n-done, scale, shift, relu)
	}
	return n
}

// first returns &s[0], or nil for an empty s.
func first(s []float32) *float32 {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

// reluVec applies the ReLU to a prefix of s in place and returns its
// length: a multiple of 8, 0 without AVX2.
func reluVec(s []float32) int {
	n := len(s) &^ 7
	if !vecAVX2 || n == 0 {
		return 0
	}
	reluAVX2(&s[0], n)
	return n
}

//go:noescape
func sumLanesAVX2(x *float32, n int, acc *[16]float64)

//go:noescape
func sqDevLanesAVX2(x *float32, n int, mean float64, acc *[16]float64)

//go:noescape
func gradSumsAVX2(x, y, dy *float32, n int, mean float32, lanes *[32]float32)

//go:noescape
func bnGradXAVX2(x, y, dy, out *float32, n int, a, b, c, mean float32)

// The BatchNorm passes below do a prefix of one run of a channel, whose
// length they return (0 without AVX2), with the very operations of the Go
// loops in bnvec.go, lane for lane.

// sumLanesVec adds x[j] to acc[j%16] for a prefix of x, a multiple of 16.
func sumLanesVec(x []float32, acc *[16]float64) int {
	n := len(x) &^ 15
	if !vecAVX2 || n == 0 {
		return 0
	}
	sumLanesAVX2(&x[0], n, acc)
	return n
}

// sqDevLanesVec adds (x[j]-mean)² to acc[j%16] for a prefix of x, a
// multiple of 16.
func sqDevLanesVec(x []float32, mean float64, acc *[16]float64) int {
	n := len(x) &^ 15
	if !vecAVX2 || n == 0 {
		return 0
	}
	sqDevLanesAVX2(&x[0], n, mean, acc)
	return n
}

// gradSumsVec adds d to lanes[j%16] and d·(x[j]-mean) to lanes[16+j%16]
// (d as in chanGradSums) for a prefix of x, a multiple of 16; y (nil or as
// long as x) and dy hold at least len(x) values.
func gradSumsVec(x, y, dy []float32, mean float32, lanes *[32]float32) int {
	n := len(x) &^ 15
	if !vecAVX2 || n == 0 {
		return 0
	}
	_ = dy[n-1]
	var yp *float32
	if y != nil {
		_ = y[n-1]
		yp = &y[0]
	}
	gradSumsAVX2(&x[0], yp, &dy[0], n, mean, lanes)
	return n
}

// bnGradXVec is chanGradX on a prefix of one run, a multiple of 8.
func bnGradXVec(x, y, dy, out []float32, a, b, c, mean float32) int {
	n := len(out) &^ 7
	if !vecAVX2 || n == 0 {
		return 0
	}
	_, _ = x[n-1], dy[n-1]
	var yp *float32
	if y != nil {
		_ = y[n-1]
		yp = &y[0]
	}
	bnGradXAVX2(&x[0], yp, &dy[0], &out[0], n, a, b, c, mean)
	return n
}

//go:noescape
func maxPool3s2AVX512(dst *float32, rows *[3]*float32, nrows, w, ow int, idx *[3][16]int32)

// poolIdx holds 0..15, the even numbers 0..30 and the odd ones 1..31.
var poolIdx = func() (t [3][16]int32) {
	for i := range 16 {
		t[0][i], t[1][i], t[2][i] = int32(i), int32(2*i), int32(2*i+1)
	}
	return t
}()

//go:noescape
func maxPool3s2AVX2(dst *float32, rows *[3]*float32, nrows, w, ow int, idx *[3][16]int32)

// maxPoolVec says that maxPoolRowVec can run (AVX2 or AVX-512).
var maxPoolVec = vecAVX2

// maxPoolAVX512 says that maxPoolRowVec runs its AVX-512 code (16 outputs
// at a time, permutes) rather than its AVX2 code (8 at a time, gathers).
var maxPoolAVX512 = vecAVX512

// maxPoolRowVec computes output row i of a 3x3 max pooling with stride 2
// and padding 1 of plane x (h×w) into y (its ow values) with AVX-512 or
// AVX2.
func maxPoolRowVec(x []float32, h, w, i int, y []float32) {
	if len(y) == 0 {
		return
	}
	_ = x[h*w-1]
	var rows [3]*float32
	n := 0
	for r := max(0, 2*i-1); r < min(h, 2*i+2); r++ {
		rows[n] = &x[r*w]
		n++
	}
	if maxPoolAVX512 {
		maxPool3s2AVX512(&y[0], &rows, n, w, len(y), &poolIdx)
		return
	}
	maxPool3s2AVX2(&y[0], &rows, n, w, len(y), &poolIdx)
}

//go:noescape
func copyRows32AVX512(dst, src *float32, n, stride int)

// copyRows32 sets dst[r*32+j] = src[r*stride+j] for r < n, j < 32, in
// AVX-512 code where there is.
func copyRows32(dst, src []float32, n, stride int) {
	if n == 0 {
		return
	}
	_, _ = dst[n*32-1], src[(n-1)*stride+31]
	if vecAVX512 {
		copyRows32AVX512(&dst[0], &src[0], n, stride)
		return
	}
	for r := range n {
		copy(dst[r*32:r*32+32], src[r*stride:r*stride+32])
	}
}

//go:noescape
func copyRows8AVX2(dst, src *float32, n, stride int)

// copyRows8 sets dst[r*8+j] = src[r*stride+j] for r < n, j < 8, in AVX2
// code where there is.
func copyRows8(dst, src []float32, n, stride int) {
	if n == 0 {
		return
	}
	_, _ = dst[n*8-1], src[(n-1)*stride+7]
	if vecAVX2 {
		copyRows8AVX2(&dst[0], &src[0], n, stride)
		return
	}
	for r := range n {
		copy(dst[r*8:r*8+8], src[r*stride:r*stride+8])
	}
}

//go:noescape
func transpose8AVX2(dst, src *float32, n, stride int)

// transpose8 sets dst[p*8+r] = src[r*stride+p] for r < 8 and p in a
// prefix of [0, n) whose length it returns: a multiple of 8, 0 without
// AVX2.
func transpose8(dst, src []float32, n, stride int) int {
	n &^= 7
	if !vecAVX2 || n == 0 {
		return 0
	}
	_, _ = dst[n*8-1], src[7*stride+n-1]
	transpose8AVX2(&dst[0], &src[0], n, stride)
	return n
}
