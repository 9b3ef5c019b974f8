//go:build amd64 && !purego

package train

import "golang.org/x/sys/cpu"

// Vector code for Adam's update and the gradients' finiteness check on
// amd64 CPUs with AVX2 or AVX-512 (adam_amd64.s). The update computes in
// float64, one operation at a time in the Go loop's order (adamGo), so a
// weight's new value does not depend on which of them computes it.

var (
	adamAVX2OK   = cpu.X86.HasAVX2
	adamAVX512OK = cpu.X86.HasAVX512F
)

//go:noescape
func adamAVX2(w, gr, m, v *float32, n int, c *adamConsts) bool

//go:noescape
func adamAVX512(w, gr, m, v *float32, n int, c *adamConsts) bool

//go:noescape
func nonFiniteAVX2(x *float32, n int) bool

// adamVec runs Adam's update (adamGo) on a prefix of w whose length it
// returns, a multiple of 8 (0 without AVX2), and reports whether the
// prefix's new weights are finite. g, m and v hold at least len(w) values.
func adamVec(w, g, m, v []float32, c *adamConsts) (int, bool) {
	n := len(w) &^ 7
	if !adamAVX2OK || n == 0 {
		return 0, true
	}
	_, _, _ = g[n-1], m[n-1], v[n-1]
	if adamAVX512OK {
		return n, adamAVX512(&w[0], &g[0], &m[0], &v[0], n, c)
	}
	return n, adamAVX2(&w[0], &g[0], &m[0], &v[0], n, c)
}

// nonFiniteVec reports whether a prefix of x, whose length it returns (a
// multiple of 8, 0 without AVX2), holds a NaN or an infinity.
func nonFiniteVec(x []float32) (int, bool) {
	n := len(x) &^ 7
	if !adamAVX2OK || n == 0 {
		return 0, false
	}
	return n, nonFiniteAVX2(&x[0], n)
}
