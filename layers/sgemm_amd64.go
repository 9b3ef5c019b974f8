//go:build amd64 && !purego && !openblas

package layers

import "golang.org/x/sys/cpu"

// A single-precision matrix product in Go with assembly micro-kernels
// (sgemm_amd64.s), blocked and packed as in BLIS: C is computed in MR×NR
// tiles from packed panels of A (MR rows, alpha folded in) and B (NR
// columns), KC values of the inner dimension at a time. Two kernels exist:
// 8x32 for AVX-512F and 6x16 for AVX2 with FMA; the default build picks the
// widest the CPU and the OS support (golang.org/x/sys/cpu), elsewhere
// gonum's Sgemm is used.

//go:noescape
func sgemmKernel6x16(k int, a, b *float32, c *float32, ldc int)

//go:noescape
func sgemmKernel8x32(k int, a, b *float32, c *float32, ldc int)

// microKernel is one assembly kernel and the block sizes that suit it: the
// packed B micro-panel (kc×nr) is meant to stay in L1, the packed A block
// (mc×kc) in L2.
type microKernel struct {
	name   string
	usable bool
	mr, nr int
	kc, mc int
	nc     int
	run    func(k int, a, b, c *float32, ldc int)
}

// asmKernels lists the kernels of this build, widest first.
var asmKernels = []*microKernel{
	{name: "avx512", usable: cpu.X86.HasAVX512F, mr: 8, nr: 32, kc: 256, mc: 128, nc: 4096, run: sgemmKernel8x32},
	{name: "avx2", usable: cpu.X86.HasAVX2 && cpu.X86.HasFMA, mr: 6, nr: 16, kc: 256, mc: 72, nc: 4080, run: sgemmKernel6x16},
}

// blockedSgemm returns gemm for float32 on one goroutine through kernel
// mk (splitGemm parallelises it).
func blockedSgemm(mk *microKernel) gemmFunc[float32] {
	mr, nr, kcMax, mcMax, ncMax := mk.mr, mk.nr, mk.kc, mk.mc, mk.nc
	return func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		scaleC(m, n, beta, c, ldc)
		if k == 0 || alpha == 0 {
			return
		}
		pa := getScratch[float32](mcMax * kcMax)
		pb := getScratch[float32](kcMax * ncMax)
		tmp := getScratch[float32](mr * nr)
		defer putScratch(pa)
		defer putScratch(pb)
		defer putScratch(tmp)
		for j0 := 0; j0 < n; j0 += ncMax {
			nc := min(ncMax, n-j0)
			for p0 := 0; p0 < k; p0 += kcMax {
				kc := min(kcMax, k-p0)
				packB(tb, nr, kc, nc, p0, j0, b, ldb, *pb)
				for i0 := 0; i0 < m; i0 += mcMax {
					mc := min(mcMax, m-i0)
					packA(ta, mr, mc, kc, i0, p0, alpha, a, lda, *pa)
					for jr := 0; jr < nc; jr += nr {
						nrr := min(nr, nc-jr)
						bp := (*pb)[jr*kc:]
						for ir := 0; ir < mc; ir += mr {
							mrr := min(mr, mc-ir)
							ap := (*pa)[ir*kc:]
							ci := (i0+ir)*ldc + j0 + jr
							if mrr == mr && nrr == nr {
								_ = c[ci+(mr-1)*ldc+nr-1] // bounds
								mk.run(kc, &ap[0], &bp[0], &c[ci], ldc)
								continue
							}
							// an edge tile: computed whole into tmp with the
							// same operations, so every element of c sees
							// the same arithmetic wherever it lies
							t := *tmp
							clear(t)
							mk.run(kc, &ap[0], &bp[0], &t[0], nr)
							for r := range mrr {
								row := c[ci+r*ldc : ci+r*ldc+nrr]
								for j := range row {
									row[j] += t[r*nr+j]
								}
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

// packB packs op(b)[p0:p0+kc, j0:j0+nc] into panels of nr columns, each
// kc rows of nr values, zero-padded on the right.
func packB(tb bool, nr, kc, nc, p0, j0 int, b []float32, ldb int, dst []float32) {
	for jp := 0; jp < nc; jp += nr {
		w := min(nr, nc-jp)
		d := dst[jp*kc : jp*kc+kc*nr]
		if !tb {
			for p := range kc {
				off := (p0+p)*ldb + j0 + jp
				row := d[p*nr : p*nr+nr]
				copy(row, b[off:off+w])
				clear(row[w:])
			}
			continue
		}
		if w < nr {
			clear(d)
		}
		for jj := range w {
			src := b[(j0+jp+jj)*ldb+p0 : (j0+jp+jj)*ldb+p0+kc]
			for p, v := range src {
				d[p*nr+jj] = v
			}
		}
	}
}

// packA packs alpha*op(a)[i0:i0+mc, p0:p0+kc] into panels of mr rows, each
// kc columns of mr values, zero-padded at the bottom.
func packA(ta bool, mr, mc, kc, i0, p0 int, alpha float32, a []float32, lda int, dst []float32) {
	for ip := 0; ip < mc; ip += mr {
		h := min(mr, mc-ip)
		d := dst[ip*kc : ip*kc+kc*mr]
		if h < mr {
			clear(d)
		}
		if !ta {
			// the rows read side by side, the panel written in order
			var src [16][]float32
			for ii := range h {
				src[ii] = a[(i0+ip+ii)*lda+p0 : (i0+ip+ii)*lda+p0+kc]
			}
			for p := range kc {
				q := d[p*mr : p*mr+h]
				for ii := range q {
					q[ii] = alpha * src[ii][p]
				}
			}
			continue
		}
		for p := range kc {
			src := a[(p0+p)*lda+i0+ip : (p0+p)*lda+i0+ip+h]
			row := d[p*mr : p*mr+h]
			for ii, v := range src {
				row[ii] = alpha * v
			}
		}
	}
}
