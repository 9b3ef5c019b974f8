//go:build amd64 && !purego && !openblas

package layers

// A single-precision matrix product in Go with an AVX2/FMA micro-kernel
// in assembly (sgemm_amd64.s), blocked and packed as in BLIS: C is
// computed in 6x16 tiles from packed panels of A (6 rows, alpha folded in)
// and B (16 columns), KC values of the inner dimension at a time. It is
// used by the default build on CPUs with AVX2 and FMA; elsewhere gonum's
// Sgemm is.

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv0() (eax, edx uint32)

//go:noescape
func sgemmKernel6x16(k int, a, b *float32, ldb int, c *float32, ldc int)

// hasAVX2FMA reports whether the CPU and the OS support AVX2 and FMA.
var hasAVX2FMA = func() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}()

const (
	sgemmMR = 6
	sgemmNR = 16
	sgemmKC = 256
	sgemmMC = 72
	sgemmNC = 4080
)

// asmSgemm is gemm for float32 on one goroutine (splitGemm parallelises
// it).
func asmSgemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	pa := getScratch[float32](sgemmMC * sgemmKC)
	pb := getScratch[float32](sgemmKC * sgemmNC)
	defer putScratch(pa)
	defer putScratch(pb)
	var tmp [sgemmMR * sgemmNR]float32
	for j0 := 0; j0 < n; j0 += sgemmNC {
		nc := min(sgemmNC, n-j0)
		for p0 := 0; p0 < k; p0 += sgemmKC {
			kc := min(sgemmKC, k-p0)
			packB(tb, kc, nc, p0, j0, b, ldb, *pb)
			for i0 := 0; i0 < m; i0 += sgemmMC {
				mc := min(sgemmMC, m-i0)
				packA(ta, mc, kc, i0, p0, alpha, a, lda, *pa)
				for jr := 0; jr < nc; jr += sgemmNR {
					nr := min(sgemmNR, nc-jr)
					// packed: reading B in place, rows ldb apart, thrashes
					// the cache when ldb is a large power of two
					bp, bld := (*pb)[jr*kc:], sgemmNR
					for ir := 0; ir < mc; ir += sgemmMR {
						mr := min(sgemmMR, mc-ir)
						ap := (*pa)[ir*kc:]
						ci := (i0+ir)*ldc + j0 + jr
						if mr == sgemmMR && nr == sgemmNR {
							_ = c[ci+(sgemmMR-1)*ldc+sgemmNR-1] // bounds
							sgemmKernel6x16(kc, &ap[0], &bp[0], bld, &c[ci], ldc)
							continue
						}
						tmp = [sgemmMR * sgemmNR]float32{}
						sgemmKernel6x16(kc, &ap[0], &bp[0], bld, &tmp[0], sgemmNR)
						for r := range mr {
							row := c[ci+r*ldc : ci+r*ldc+nr]
							for j := range row {
								row[j] += tmp[r*sgemmNR+j]
							}
						}
					}
				}
			}
		}
	}
}

// scaleC sets c to beta*c.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// packB packs op(b)[p0:p0+kc, j0:j0+nc] into panels of 16 columns, each
// kc rows of 16 values, zero-padded on the right.
func packB(tb bool, kc, nc, p0, j0 int, b []float32, ldb int, dst []float32) {
	for jp := 0; jp < nc; jp += sgemmNR {
		nr := min(sgemmNR, nc-jp)
		d := dst[jp*kc : jp*kc+kc*sgemmNR]
		if !tb {
			if nr == sgemmNR {
				for p := range kc {
					off := (p0+p)*ldb + j0 + jp
					*(*[sgemmNR]float32)(d[p*sgemmNR:]) = *(*[sgemmNR]float32)(b[off : off+sgemmNR])
				}
				continue
			}
			for p := range kc {
				src := b[(p0+p)*ldb+j0+jp : (p0+p)*ldb+j0+jp+nr]
				row := d[p*sgemmNR : p*sgemmNR+sgemmNR]
				copy(row, src)
				clear(row[nr:])
			}
			continue
		}
		if nr < sgemmNR {
			clear(d)
		}
		for jj := range nr {
			src := b[(j0+jp+jj)*ldb+p0 : (j0+jp+jj)*ldb+p0+kc]
			for p, v := range src {
				d[p*sgemmNR+jj] = v
			}
		}
	}
}

// packA packs alpha*op(a)[i0:i0+mc, p0:p0+kc] into panels of 6 rows, each
// kc columns of 6 values, zero-padded at the bottom.
func packA(ta bool, mc, kc, i0, p0 int, alpha float32, a []float32, lda int, dst []float32) {
	for ip := 0; ip < mc; ip += sgemmMR {
		mr := min(sgemmMR, mc-ip)
		d := dst[ip*kc : ip*kc+kc*sgemmMR]
		if mr < sgemmMR {
			clear(d)
		}
		if !ta {
			if mr == sgemmMR && alpha == 1 {
				// six rows at a time, written in order
				r0 := (i0+ip)*lda + p0
				s0, s1, s2 := a[r0:r0+kc], a[r0+lda:r0+lda+kc], a[r0+2*lda:r0+2*lda+kc]
				s3, s4, s5 := a[r0+3*lda:r0+3*lda+kc], a[r0+4*lda:r0+4*lda+kc], a[r0+5*lda:r0+5*lda+kc]
				for p := range kc {
					q := (*[sgemmMR]float32)(d[p*sgemmMR:])
					q[0], q[1], q[2], q[3], q[4], q[5] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p]
				}
				continue
			}
			for ii := range mr {
				src := a[(i0+ip+ii)*lda+p0 : (i0+ip+ii)*lda+p0+kc]
				for p, v := range src {
					d[p*sgemmMR+ii] = alpha * v
				}
			}
			continue
		}
		for p := range kc {
			src := a[(p0+p)*lda+i0+ip : (p0+p)*lda+i0+ip+mr]
			row := d[p*sgemmMR : p*sgemmMR+mr]
			for ii, v := range src {
				row[ii] = alpha * v
			}
		}
	}
}
