package layers

// Convolutions as tile jobs (tiles.go) for float32 where the build has an
// assembly kernel: the (C·KH·KW, N·P) matrix of image columns is packed
// straight from x instead of being built by im2col, the (F, N·P) product is
// written in (N, F, P) order, and the epilogue runs on each finished tile.
// The arithmetic is that of im2col followed by the same kernel: the same
// packed values, multiplied and added in the same order.

// colGeom is the geometry of a convolution's matrix of image columns:
// row r = (ch, ki, kj), column j = (img, oy, ox).
type colGeom struct {
	convGeom
	c, h, w, oh, ow int
}

func (cg colGeom) p() int { return cg.oh * cg.ow }

// packImageRows packs panels of the matrix B(r, j) = x[(img·rows + r)·seg
// + pos], j = img·seg + pos: a (rows, N·seg) view of x (N, rows, seg).
func packImageRows(rows, seg int, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		for jp := 0; jp < nc; jp += nr {
			w := min(nr, nc-jp)
			d := dst[jp*kc : jp*kc+kc*nr]
			j := j0 + jp
			if img, pos := j/seg, j%seg; w == 32 && nr == 32 && pos+32 <= seg {
				// the panel's columns are consecutive in every row: kc
				// copies of 32 values, without a call to copy each
				copyRows32(d, x[(img*rows+p0)*seg+pos:], kc, seg)
				continue
			}
			for p := range kc {
				row := d[p*nr : p*nr+nr]
				for q := 0; q < w; {
					img, pos := (j+q)/seg, (j+q)%seg
					n := min(w-q, seg-pos)
					off := (img*rows+p0+p)*seg + pos
					copy(row[q:q+n], x[off:off+n])
					q += n
				}
				clear(row[w:])
			}
		}
	}
}

// packImageRowsA packs panels of the same view as packImageRows, as the
// left operand A(i, p) = x[(img·rows + i)·seg + pos], p = img·seg + pos.
func packImageRowsA(rows, seg int, x []float32) func(mr, mc, kc, i0, p0 int, dst []float32) {
	return func(mr, mc, kc, i0, p0 int, dst []float32) {
		for ip := 0; ip < mc; ip += mr {
			h := min(mr, mc-ip)
			d := dst[ip*kc : ip*kc+kc*mr]
			if h < mr {
				clear(d)
			}
			for ii := range h {
				i := i0 + ip + ii
				for q := 0; q < kc; {
					img, pos := (p0+q)/seg, (p0+q)%seg
					n := min(kc-q, seg-pos)
					src := x[(img*rows+i)*seg+pos : (img*rows+i)*seg+pos+n]
					for t, v := range src {
						d[(q+t)*mr+ii] = v
					}
					q += n
				}
			}
		}
	}
}

// packCols packs panels of the matrix of image columns of x, as the right
// operand B(r, j), for mk.
func packCols(mk *microKernel, cg colGeom, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	if cg.direct() {
		return packImageRows(cg.c, cg.h*cg.w, x)
	}
	if mk.runs != nil && cg.sw == 1 && cg.ow >= 4 && len(x) < 1<<30 {
		return packColsRuns(mk, cg, x)
	}
	if mk.gathers != nil && len(x) < 1<<30 {
		return packColsGather(mk, cg, x)
	}
	kk, hw, chw, p := cg.kh*cg.kw, cg.h*cg.w, cg.c*cg.h*cg.w, cg.p()
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		// a panel's columns in runs along one output row: a run reads
		// input values sw apart (consecutive ones, copied at once, with
		// stride 1), and only its ends can fall in the padding
		type run struct{ q, n, base, iy0, ix0 int }
		var runs [32]run
		for jp := 0; jp < nc; jp += nr {
			w := min(nr, nc-jp)
			d := dst[jp*kc : jp*kc+kc*nr]
			nruns := 0
			for q := 0; q < w; {
				j := j0 + jp + q
				img, pos := j/p, j%p
				n := min(w-q, cg.ow-pos%cg.ow)
				runs[nruns] = run{q, n, img * chw, pos/cg.ow*cg.sh - cg.ph, pos%cg.ow*cg.sw - cg.pw}
				nruns++
				q += n
			}
			// row p0+pp is (ch, ki, kj), stepped along without dividing
			ch, ki, kj := p0/kk, p0%kk/cg.kw, p0%cg.kw
			for pp := range kc {
				cb, dy, dx := ch*hw, ki*cg.dh, kj*cg.dw
				if kj++; kj == cg.kw {
					if kj, ki = 0, ki+1; ki == cg.kh {
						ki, ch = 0, ch+1
					}
				}
				row := d[pp*nr : pp*nr+nr]
				sw := cg.sw
				for _, ru := range runs[:nruns] {
					out := row[ru.q : ru.q+ru.n]
					iy, ix := ru.iy0+dy, ru.ix0+dx
					if uint(iy) >= uint(cg.h) {
						clear(out)
						continue
					}
					// columns t read ix + t·sw: zeros where that is left
					// of 0 (t < a) or at w and beyond (t >= b)
					a, b := 0, ru.n
					switch lim := cg.w - ix; {
					case lim <= 0:
						b = 0
					case sw == 1:
						a, b = max(0, -ix), min(b, lim)
					default:
						if ix < 0 {
							a = (-ix + sw - 1) / sw
						}
						b = min(b, (lim+sw-1)/sw)
					}
					if a >= b {
						clear(out)
						continue
					}
					src := ru.base + cb + iy*cg.w + ix
					clear(out[:a])
					if sw == 1 {
						copy(out[a:b], x[src+a:src+b])
					} else {
						in := x[src+a*sw : src+(b-1)*sw+1]
						for t := range out[a:b] {
							out[a+t] = in[t*sw]
						}
					}
					clear(out[b:])
				}
				clear(row[w:])
			}
		}
	}
}

// packColsGather is packCols for panels of mk.nr columns with gathers
// (mk.gathers): a panel's columns read, for each kernel offset (ki, kj),
// values at the same distances from the start of every channel, so the
// distances and which columns fall in the padding are worked out once per
// panel, and each row of the panel is two gathers.
func packColsGather(mk *microKernel, cg colGeom, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	kk, hw, chw, p := cg.kh*cg.kw, cg.h*cg.w, cg.c*cg.h*cg.w, cg.p()
	width := mk.nr
	lanes := width / 2 // of a mask
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		// on the stack for kernels up to 3x3
		var idxs [9 * 32]int32
		var maskss [9 * 2]uint16
		idx, masks := idxs[:], maskss[:]
		if kk > 9 {
			idx, masks = make([]int32, kk*32), make([]uint16, kk*2)
		}
		var base, iy0, ix0 [32]int
		for jp := 0; jp < nc; jp += width {
			w := min(width, nc-jp)
			for q := range w {
				j := j0 + jp + q
				img, pos := j/p, j%p
				base[q], iy0[q], ix0[q] = img*chw, pos/cg.ow*cg.sh-cg.ph, pos%cg.ow*cg.sw-cg.pw
			}
			for t := range kk {
				dy, dx := t/cg.kw*cg.dh, t%cg.kw*cg.dw
				var m uint32
				for q := range w {
					iy, ix := iy0[q]+dy, ix0[q]+dx
					if uint(iy) < uint(cg.h) && uint(ix) < uint(cg.w) {
						idx[t*32+q] = int32(base[q] + iy*cg.w + ix)
						m |= 1 << q
					}
				}
				masks[2*t], masks[2*t+1] = uint16(m&(1<<lanes-1)), uint16(m>>lanes)
			}
			ch := p0 / kk
			mk.gathers(dst[jp*kc:jp*kc+kc*width], x[ch*hw:], idx, masks, kk, p0%kk, kc, hw)
		}
	}
}

// runEnt is a run of a panel row's lanes that one masked load fills
// (loadRuns): lane l of its half, for the lanes in mask, gets the value
// off + l from the start of the row's channel.
type runEnt struct {
	off  int32
	mask uint32
}

// packColsRuns is packCols for the panels of a convolution with
// horizontal stride 1, with masked loads (mk.runs, mk.nr columns a panel):
// a panel row's values along one output row are consecutive in the image,
// at distances from the start of the channel that depend on the kernel
// offset only, so each panel row is one masked load per such run (two
// where it crosses the middle of the panel), the padding masked off; the
// runs are worked out once per panel.
func packColsRuns(mk *microKernel, cg colGeom, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	kk, hw, chw, p := cg.kh*cg.kw, cg.h*cg.w, cg.c*cg.h*cg.w, cg.p()
	width := mk.nr
	lanes := width / 2 // of a half
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		// on the stack for kernels up to 3x3
		var entsArr [9 * 32]runEnt
		var cntsArr [9 * 2]int32
		ents, cnts := entsArr[:], cntsArr[:]
		if kk > 9 {
			ents, cnts = make([]runEnt, kk*32), make([]int32, kk*2)
		}
		type run struct{ q, n, base, iy0, ix0 int }
		var runs [32]run
		for jp := 0; jp < nc; jp += width {
			w := min(width, nc-jp)
			nruns := 0
			for q := 0; q < w; {
				j := j0 + jp + q
				img, pos := j/p, j%p
				n := min(w-q, cg.ow-pos%cg.ow)
				runs[nruns] = run{q, n, img * chw, pos/cg.ow*cg.sh - cg.ph, pos%cg.ow - cg.pw}
				nruns++
				q += n
			}
			clear(cnts)
			for t := range kk {
				dy, dx := t/cg.kw*cg.dh, t%cg.kw*cg.dw
				for _, ru := range runs[:nruns] {
					iy, ix := ru.iy0+dy, ru.ix0+dx
					if uint(iy) >= uint(cg.h) {
						continue
					}
					// lanes q+a to q+b read ix+a to ix+b-1, inside the row
					a, b := max(0, -ix), min(ru.n, cg.w-ix)
					if a >= b {
						continue
					}
					off := ru.base + iy*cg.w + ix - ru.q // lane l reads off + l
					for half := range 2 {
						lo, hi := max(ru.q+a, lanes*half), min(ru.q+b, lanes*half+lanes)
						if lo >= hi {
							continue
						}
						m := uint32(1)<<(hi-lanes*half) - uint32(1)<<(lo-lanes*half)
						k := &cnts[2*t+half]
						ents[(2*t+half)*16+int(*k)] = runEnt{int32(off + lanes*half), m}
						*k++
					}
				}
			}
			ch := p0 / kk
			mk.runs(dst[jp*kc:jp*kc+kc*width], x[ch*hw:], ents, cnts, kk, p0%kk, kc, hw)
		}
	}
}

// packColsT packs panels of the transposed matrix of image columns,
// B(j, r): the right operand of the weight gradient dy'·colsᵀ, for mk.
func packColsT(mk *microKernel, cg colGeom, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	if cg.direct() {
		return packImageRowsT(cg.c, cg.h*cg.w, x)
	}
	if mk.gathersT != nil && len(x) < 1<<30 && mk.kc <= 256 {
		return packColsTGather(mk, cg, x)
	}
	kk, hw, chw, p := cg.kh*cg.kw, cg.h*cg.w, cg.c*cg.h*cg.w, cg.p()
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		var cb, dy, dx [32]int
		for jp := 0; jp < nc; jp += nr {
			w := min(nr, nc-jp)
			d := dst[jp*kc : jp*kc+kc*nr]
			for q := range w {
				r := j0 + jp + q
				ch, ki, kj := r/kk, r%kk/cg.kw, r%cg.kw
				cb[q], dy[q], dx[q] = ch*hw, ki*cg.dh, kj*cg.dw
			}
			for pp := range kc {
				j := p0 + pp
				img, pos := j/p, j%p
				base, iy0, ix0 := img*chw, pos/cg.ow*cg.sh-cg.ph, pos%cg.ow*cg.sw-cg.pw
				row := d[pp*nr : pp*nr+nr]
				for q := range w {
					iy, ix := iy0+dy[q], ix0+dx[q]
					if uint(iy) < uint(cg.h) && uint(ix) < uint(cg.w) {
						row[q] = x[base+cb[q]+iy*cg.w+ix]
					} else {
						row[q] = 0
					}
				}
				clear(row[w:])
			}
		}
	}
}

// packColsTGather is packColsT for panels of mk.nr columns with gathers
// (mk.gathersT): a row (an output position) reads its panel's columns at
// distances from its own start that depend on the column only, so they
// are worked out once per panel, and the row's start and window once per
// block of rows; each row of the panel is then two gathers, masked where
// the window falls in the padding.
func packColsTGather(mk *microKernel, cg colGeom, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	kk, hw, chw, p := cg.kh*cg.kw, cg.h*cg.w, cg.c*cg.h*cg.w, cg.p()
	width := mk.nr
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		var rowsArr [3 * 256]int32
		rows := rowsArr[:3*kc]
		img, pos := p0/p, p0%p
		oy, ox := pos/cg.ow, pos%cg.ow
		for t := range kc {
			iy0, ix0 := oy*cg.sh-cg.ph, ox*cg.sw-cg.pw
			rows[3*t], rows[3*t+1], rows[3*t+2] = int32(img*chw+iy0*cg.w+ix0), int32(iy0), int32(ix0)
			if ox++; ox == cg.ow {
				if ox, oy = 0, oy+1; oy == cg.oh {
					oy, img = 0, img+1
				}
			}
		}
		var cols [4][32]int32
		for jp := 0; jp < nc; jp += width {
			w := min(width, nc-jp)
			for q := range width {
				if q >= w {
					// never inside the image: read nothing, pack 0
					cols[0][q], cols[1][q], cols[2][q] = 0, 1<<30, 1<<30
					continue
				}
				r := j0 + jp + q
				ch, ki, kj := r/kk, r%kk/cg.kw, r%cg.kw
				dy, dx := ki*cg.dh, kj*cg.dw
				cols[0][q], cols[1][q], cols[2][q] = int32(ch*hw+dy*cg.w+dx), int32(dy), int32(dx)
			}
			mk.gathersT(dst[jp*kc:jp*kc+kc*width], x, &cols, rows, cg.h, cg.w)
		}
	}
}

// packImageRowsT packs panels of the transpose of packImageRows' view,
// B(j, r) = x[(img·rows + r)·seg + pos], j = img·seg + pos: the image
// columns of a direct convolution for the weight gradient. Each row r is
// read a stretch of one image at a time, in order.
func packImageRowsT(rows, seg int, x []float32) func(nr, kc, nc, p0, j0 int, dst []float32) {
	return func(nr, kc, nc, p0, j0 int, dst []float32) {
		for jp := 0; jp < nc; jp += nr {
			w := min(nr, nc-jp)
			d := dst[jp*kc : jp*kc+kc*nr]
			for pp := 0; pp < kc; {
				img, pos := (p0+pp)/seg, (p0+pp)%seg
				n := min(kc-pp, seg-pos)
				for q := range w {
					off := (img*rows+j0+jp+q)*seg + pos
					out := d[pp*nr+q:]
					for t, v := range x[off : off+n] {
						out[t*nr] = v
					}
				}
				pp += n
			}
			if w < nr {
				for pp := range kc {
					clear(d[pp*nr+w : pp*nr+nr])
				}
			}
		}
	}
}

// convTilesForward sets y (N, F, OH, OW) to epi(w · cols(x)). The
// weights come packed from wp when set (kept across runs); otherwise they
// are packed once for the call when the product would pack them more than
// once.
func convTilesForward(mk *microKernel, cg colGeom, n, f int, x, wt, y []float32, epi *epilogue[float32], wp *weightPanels) {
	p, k := cg.p(), cg.c*cg.kh*cg.kw
	job := &tileJob{
		m: f, n: n * p, k: k,
		packA: packWeights(k, wt),
		packB: packCols(mk, cg, x),
		c:     cLayout{c: y, ldc: p, seg: p, segStride: f * p},
	}
	if epi != nil {
		job.epi = func(i, off int, run []float32) { epi.apply(i, off, run, run) }
		job.fused = epi
	}
	if wp != nil {
		var done func()
		job.packedA, done = wp.get(mk, f, k, wt)
		defer done()
	}
	runTilesPacked(mk, job)
}

// runTilesPacked is runTiles, packing A whole first when the product would
// otherwise pack its blocks more than once (and job.packedA is not set).
func runTilesPacked(mk *microKernel, job *tileJob) {
	if job.packedA == nil && job.k > 0 && mk.packsARepeatedly(job) {
		buf := getScratch[float32](mk.packedSize(job.m, job.k))
		defer putScratch(buf)
		mk.packWhole(job.m, job.k, job.packA, *buf)
		job.packedA = *buf
	}
	runTiles(mk, job)
}

// convTilesGradW sets dw (F, C·KH·KW) to dy' · colsᵀ, dy' being dy
// (N, F, OH, OW) viewed as (F, N·P).
func convTilesGradW(mk *microKernel, cg colGeom, n, f int, x, dy, dw []float32) {
	p, k := cg.p(), cg.c*cg.kh*cg.kw
	runTiles(mk, &tileJob{
		m: f, n: k, k: n * p,
		packA: packImageRowsA(f, p, dy),
		packB: packColsT(mk, cg, x),
		c:     cLayout{c: dw, ldc: k, seg: k},
	})
}

// convTilesGradXFlipped sets dx (N, C, H, W) to the gradient for x of a
// stride-1 convolution (cg.transposable) as a convolution of dy with the
// weights flipped in space and their two channel axes swapped: the
// forward path's packing and kernels, no (C·KH·KW, N·P) matrix of columns
// and no scatter back into dx.
func convTilesGradXFlipped(mk *microKernel, cg colGeom, n, f int, wt, dy, dx []float32) {
	c, kh, kw := cg.c, cg.kh, cg.kw
	kk := kh * kw
	wf := getScratch[float32](c * f * kk)
	defer putScratch(wf)
	flip := *wf
	parallelFor(c, f*kk, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			for fi := range f {
				src := wt[(fi*c+ci)*kk : (fi*c+ci+1)*kk]
				dst := flip[(ci*f+fi)*kk : (ci*f+fi+1)*kk]
				for t, v := range src {
					dst[kk-1-t] = v
				}
			}
		}
	})
	fg := colGeom{convGeom: cg.flipped(), c: f, h: cg.oh, w: cg.ow, oh: cg.h, ow: cg.w}
	convTilesForward(mk, fg, n, c, dy, flip, dx, nil, nil)
}

// convTilesGradCols sets dcols (C·KH·KW, N·P) to wᵀ · dy'; for a direct
// convolution dcols is dx itself, written in (N, C, H, W) order.
func convTilesGradCols(mk *microKernel, cg colGeom, n, f int, wt, dy, dcols []float32) {
	p, k := cg.p(), cg.c*cg.kh*cg.kw
	c := cLayout{c: dcols, ldc: n * p, seg: n * p}
	if cg.direct() {
		c = cLayout{c: dcols, ldc: p, seg: p, segStride: k * p}
	}
	runTilesPacked(mk, &tileJob{
		m: k, n: n * p, k: f,
		packA: func(mr, mc, kc, i0, p0 int, dst []float32) { packA(true, mr, mc, kc, i0, p0, 1, wt, k, dst) },
		packB: packImageRows(f, p, dy),
		c:     c,
	})
}
