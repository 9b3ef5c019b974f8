package layers

// A blocked float32 matrix product (BLIS's loop nest) over pluggable
// operands: the caller says how to pack panels of A and B and where each
// element of C lives, so that a convolution can pack its input straight
// from the image (no im2col matrix), write its output in NCHW order (no
// transpose) and apply its epilogue while the tile is still in cache.

// microKernel is one assembly kernel and the block sizes that suit it: the
// packed B micro-panel (kc×nr) is meant to stay in L1, the packed A block
// (mc×kc) in L2.
type microKernel struct {
	name   string
	usable bool
	mr, nr int
	kc, mc int
	nc     int
	// run computes an mr×nr tile from packed panels: c (+)= a·b, adding
	// when add, storing over c otherwise.
	run func(k int, a, b, c *float32, ldc int, add bool)
	// epi says that kernelEpi runs this kernel with an epilogue applied
	// as the tile is stored.
	epi bool
	// gathersT, when set, packs rows of an nr-column panel of transposed
	// image columns with gathers (packColsTGather: cols[k][:nr], as
	// gatherColsT documents for nr = 32).
	gathersT func(dst, x []float32, cols *[4][32]int32, rows []int32, h, w int)
	// gathers, when set, packs rows of an nr-column panel of a
	// convolution's image columns with gathers (packColsGather: indices in
	// slots of 32 a kernel offset, two masks of nr/2 columns, as
	// gatherRows documents for nr = 32).
	gathers func(dst, x []float32, idx []int32, masks []uint16, kk, k0, rows, hw int)
	// runs, when set, packs rows of an nr-column panel of a stride-1
	// convolution's image columns with masked loads (packColsRuns: entries
	// of nr/2 lanes, two halves a row, as loadRuns documents for nr = 32).
	runs func(dst, x []float32, ents []runEnt, cnts []int32, kk, k0, rows, hw int)
}

// tileEpi is a float32 epilogue (epilogue.apply) for the rows of one
// tile, which a kernel applies in registers before it stores the tile:
// the first row's scale and shift, the residual at the tile's first value
// (rows ldc apart, nil for none) and whether to apply the ReLU.
type tileEpi struct {
	scale, shift *float32
	res          *float32
	relu         bool
}

// cLayout places element (i, j) of an m×n product at
// (j/seg)*segStride + i*ldc + j%seg: a row-major matrix has seg = n, and a
// convolution's (F, N·P) product written as (N, F, P) has seg = P,
// ldc = P and segStride = F·P.
type cLayout struct {
	c                   []float32
	ldc, seg, segStride int
}

func (l *cLayout) at(i, j int) int { return (j/l.seg)*l.segStride + i*l.ldc + j%l.seg }

// tileJob is c = op(A)·op(B) (add: c += op(A)·op(B)) of sizes m×k and
// k×n, with epi, when set, applied to each run of final values of row i.
type tileJob struct {
	m, n, k int
	packA   func(mr, mc, kc, i0, p0 int, dst []float32)
	packB   func(nr, kc, nc, p0, j0 int, dst []float32)
	// packedA, when set, is A packed whole (packWhole), read in place
	// of packing blocks with packA.
	packedA []float32
	c       cLayout
	add     bool
	// epi, when set, is applied to each run of final values of row i:
	// run is c[off:off+len(run)].
	epi func(i, off int, run []float32)
	// fused, when set, is what epi applies, for kernels that apply it
	// themselves (microKernel.epi) to whole tiles.
	fused *epilogue[float32]
}

// packedSize is the length of A (m×k) packed whole for mk.
func (mk *microKernel) packedSize(m, k int) int {
	return (m + mk.mr - 1) / mk.mr * mk.mr * k
}

// packWhole packs all of A (m×k) with packA into dst (packedSize), on
// GOMAXPROCS goroutines: for each block of kc columns starting at p0,
// the mr-row panels of every row, panel i/mr at dst[p0·mp + i·kc'] (mp is
// m rounded up to mr, kc' the block's width). tiles reads its blocks there
// instead of packing them again, so a product that would pack A once per
// block of columns, or once per goroutine, packs it once, and a
// convolution whose weights do not change packs them once for many runs.
// The panels hold what packA writes: the product is the same, bit for bit.
func (mk *microKernel) packWhole(m, k int, packA func(mr, mc, kc, i0, p0 int, dst []float32), dst []float32) {
	mr := mk.mr
	mp := (m + mr - 1) / mr * mr
	blocks := (k + mk.kc - 1) / mk.kc
	panels := mp / mr
	parallelFor(blocks*panels, mr*min(k, mk.kc), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			p0, i := t/panels*mk.kc, t%panels*mr
			kc := min(mk.kc, k-p0)
			packA(mr, min(mr, m-i), kc, i, p0, dst[p0*mp+i*kc:p0*mp+(i+mr)*kc])
		}
	})
}

// packsARepeatedly reports whether computing job through tiles would pack
// the same blocks of A more than once: on more than one goroutine taking
// columns, or over more than one block of nc columns.
func (mk *microKernel) packsARepeatedly(job *tileJob) bool {
	w, byCols := splitWays(job.m, job.n, job.k, mk.mr, mk.nr)
	return job.n > mk.nc || (byCols && w > 1)
}

// runTiles computes job on GOMAXPROCS goroutines, each taking a block of
// whole nr-column panels (or mr-row panels, when there are more rows than
// columns).
func runTiles(mk *microKernel, job *tileJob) {
	if job.m == 0 || job.n == 0 {
		return
	}
	splitProduct(job.m, job.n, job.k, mk.mr, mk.nr, func(i0, i1, j0, j1 int) { mk.tiles(job, i0, i1, j0, j1) })
}

// tiles computes rows [ilo, ihi) and columns [jlo, jhi) of job on one
// goroutine.
func (mk *microKernel) tiles(job *tileJob, ilo, ihi, jlo, jhi int) {
	mr, nr := mk.mr, mk.nr
	pa := getScratch[float32](mk.mc * mk.kc)
	pb := getScratch[float32](mk.kc * mk.nc)
	tmp := getScratch[float32](mr * nr)
	defer putScratch(pa)
	defer putScratch(pb)
	defer putScratch(tmp)
	cl := &job.c
	if job.k == 0 {
		if !job.add {
			for i := ilo; i < ihi; i++ {
				cl.runs(i, jlo, jhi-jlo, func(off, n, _ int) { clear(cl.c[off : off+n]) })
			}
		}
		if job.epi != nil {
			for i := ilo; i < ihi; i++ {
				cl.runs(i, jlo, jhi-jlo, func(off, n, _ int) { job.epi(i, off, cl.c[off:off+n]) })
			}
		}
		return
	}
	// out is where the tiles go: c itself, or, when many tiles would
	// straddle c's segments, a row-major buffer of the block (origin ilo,
	// jlo) whose rows are copied into c, with the epilogue, at the end
	out, oi, oj := cl, 0, 0
	via := mk.viaBuffer(job)
	var buf *[]float32
	if via {
		w := jhi - jlo
		buf = getScratch[float32]((ihi - ilo) * w)
		defer putScratch(buf)
		out, oi, oj = &cLayout{c: (*buf)[:(ihi-ilo)*w], ldc: w, seg: w}, ilo, jlo
		if job.add {
			mk.copyBlock(job, *buf, ilo, ihi, jlo, jhi, false)
		}
	}
	epi := job.epi
	if via {
		epi = nil
	}
	for j0 := jlo; j0 < jhi; j0 += mk.nc {
		nc := min(mk.nc, jhi-j0)
		for p0 := 0; p0 < job.k; p0 += mk.kc {
			kc := min(mk.kc, job.k-p0)
			add := job.add || p0 > 0
			last := p0+kc == job.k
			job.packB(nr, kc, nc, p0, j0, *pb)
			for i0 := ilo; i0 < ihi; i0 += mk.mc {
				mc := min(mk.mc, ihi-i0)
				a := *pa
				if job.packedA != nil {
					mp := (job.m + mr - 1) / mr * mr
					a = job.packedA[p0*mp+i0*kc:]
				} else {
					job.packA(mr, mc, kc, i0, p0, a)
				}
				for jr := 0; jr < nc; jr += nr {
					w := min(nr, nc-jr)
					bp := (*pb)[jr*kc:]
					j := j0 + jr - oj
					for ir := 0; ir < mc; ir += mr {
						h := min(mr, mc-ir)
						ap := a[ir*kc:]
						i := i0 + ir - oi
						if h == mr && w == nr && j%out.seg+nr <= out.seg {
							off := out.at(i, j)
							_ = out.c[off+(mr-1)*out.ldc+nr-1] // bounds
							if fe := job.fused; last && epi != nil && fe != nil && mk.epi {
								_, _ = fe.scale[i+mr-1], fe.shift[i+mr-1]
								te := tileEpi{scale: &fe.scale[i], shift: &fe.shift[i], relu: fe.relu}
								if fe.res != nil {
									_ = fe.res[off+(mr-1)*out.ldc+nr-1]
									te.res = &fe.res[off]
								}
								kernelEpi(kc, &ap[0], &bp[0], &out.c[off], out.ldc, add, &te)
								continue
							}
							mk.run(kc, &ap[0], &bp[0], &out.c[off], out.ldc, add)
							if last && epi != nil {
								for r := range mr {
									o := off + r*out.ldc
									epi(i+r, o, out.c[o:o+nr])
								}
							}
							continue
						}
						// an edge tile, or one whose columns are not evenly
						// spaced in c: computed whole into tmp with the same
						// operations, then added or copied run by run
						t := *tmp
						mk.run(kc, &ap[0], &bp[0], &t[0], nr, false)
						for r := range h {
							out.runs(i+r, j, w, func(off, n, q int) {
								dst, src := out.c[off:off+n], t[r*nr+q:r*nr+q+n]
								if add {
									for x, v := range src {
										dst[x] += v
									}
								} else {
									copy(dst, src)
								}
								if last && epi != nil {
									epi(i+r, off, dst)
								}
							})
						}
					}
				}
			}
		}
	}
	if via {
		mk.copyBlock(job, *buf, ilo, ihi, jlo, jhi, true)
	}
}

// viaBuffer reports whether tiles computes job through a row-major buffer:
// when c's segments are short and not whole tiles wide, so that most tiles
// would straddle two of them and be added into c run by run after each
// block of kc rows of B, instead of once.
func (mk *microKernel) viaBuffer(job *tileJob) bool {
	seg := job.c.seg
	return seg%mk.nr != 0 && seg < 4*mk.nr && seg < job.n
}

// copyBlock copies rows [ilo, ihi) and columns [jlo, jhi) of job's c to
// buf (row-major, jhi-jlo wide), or, when back, from buf to c, applying
// job.epi on the way.
func (mk *microKernel) copyBlock(job *tileJob, buf []float32, ilo, ihi, jlo, jhi int, back bool) {
	cl, w := &job.c, jhi-jlo
	for i := ilo; i < ihi; i++ {
		row := buf[(i-ilo)*w : (i-ilo+1)*w]
		for q := 0; q < w; {
			j := jlo + q
			n := min(w-q, cl.seg-j%cl.seg)
			off := cl.at(i, j)
			c := cl.c[off : off+n]
			switch {
			case !back:
				copy(row[q:q+n], c)
			case job.fused != nil:
				// the epilogue reads the buffer: one pass, not a copy and
				// a pass over the copy
				job.fused.apply(i, off, row[q:q+n], c)
			default:
				copy(c, row[q:q+n])
				if job.epi != nil {
					job.epi(i, off, c)
				}
			}
			q += n
		}
	}
}

// runs calls f(off, n, q) for each stretch of row i's columns
// [j, j+w) that is contiguous in c: n values at c[off:], the first being
// column j+q.
func (l *cLayout) runs(i, j, w int, f func(off, n, q int)) {
	for q := 0; q < w; {
		n := min(w-q, l.seg-(j+q)%l.seg)
		f(l.at(i, j+q), n, q)
		q += n
	}
}

// blockedSgemm returns gemm for float32 on one goroutine through kernel
// mk (splitGemm parallelises it).
func blockedSgemm(mk *microKernel) gemmFunc[float32] {
	return func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if beta != 0 {
			scaleC(m, n, beta, c, ldc)
		}
		if alpha == 0 {
			if beta == 0 {
				scaleC(m, n, 0, c, ldc)
			}
			return
		}
		job := &tileJob{
			m: m, n: n, k: k,
			packA: func(mr, mc, kc, i0, p0 int, dst []float32) { packA(ta, mr, mc, kc, i0, p0, alpha, a, lda, dst) },
			packB: func(nr, kc, nc, p0, j0 int, dst []float32) { packB(tb, nr, kc, nc, p0, j0, b, ldb, dst) },
			c:     cLayout{c: c, ldc: ldc, seg: max(n, 1)},
			add:   beta != 0,
		}
		mk.tiles(job, 0, m, 0, n)
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
		if !ta && h == 8 && mr == 8 && alpha == 1 {
			// the AVX-512 kernel's whole panels, unrolled (x·1 is x)
			// by 8x8 blocks in vector code where there is, the rest here
			done := transpose8(d, a[(i0+ip)*lda+p0:], kc, lda)
			row := func(ii int) []float32 { return a[(i0+ip+ii)*lda+p0:][:kc] }
			s0, s1, s2, s3, s4, s5, s6, s7 := row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)
			for p := done; p < kc; p++ {
				q := d[p*8 : p*8+8 : p*8+8]
				q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p], s6[p], s7[p]
			}
			continue
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
		if h == 8 && mr == 8 && alpha == 1 && kc > 0 {
			// whole panels: kc rows of 8 consecutive values (x·1 is x),
			// in vector code where there is
			copyRows8(d, a[p0*lda+i0+ip:], kc, lda)
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
