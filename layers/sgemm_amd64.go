//go:build amd64 && !purego && !openblas

package layers

import "golang.org/x/sys/cpu"

// The assembly micro-kernels of the default build on amd64
// (sgemm_amd64.s): 8x32 for AVX-512F and 6x16 for AVX2 with FMA. The
// widest the CPU and the OS support is used (golang.org/x/sys/cpu);
// elsewhere gonum's Sgemm is.

//go:noescape
func sgemmKernel6x16(k int, a, b *float32, c *float32, ldc int, add bool)

//go:noescape
func sgemmKernel8x32(k int, a, b *float32, c *float32, ldc int, add bool, e *tileEpi)

//go:noescape
func gatherRowsAVX512(dst, x *float32, idx *int32, masks *uint16, kk, k0, rows, hw int)

// gatherRows packs rows of a 32-column panel of image columns with AVX-512
// gathers (gatherRowsAVX512): x starts at the first row's channel.
func gatherRows(dst, x []float32, idx []int32, masks []uint16, kk, k0, rows, hw int) {
	_, _ = dst[rows*32-1], idx[kk*32-1]
	_ = masks[kk*2-1]
	gatherRowsAVX512(&dst[0], &x[0], &idx[0], &masks[0], kk, k0, rows, hw)
}

//go:noescape
func gatherColsTAVX512(dst, x *float32, cols *[4][32]int32, rows *int32, nrows, h, w int)

// gatherColsT packs rows of a 32-column panel of transposed image columns
// with AVX-512 gathers (gatherColsTAVX512).
func gatherColsT(dst, x []float32, cols *[4][32]int32, rows []int32, h, w int) {
	nrows := len(rows) / 3
	_ = dst[nrows*32-1]
	gatherColsTAVX512(&dst[0], &x[0], cols, &rows[0], nrows, h, w)
}

//go:noescape
func loadRunsAVX512(dst, x *float32, ents *runEnt, cnts *int32, kk, k0, rows, hw int)

// loadRuns packs rows of a 32-column panel of a stride-1 convolution's
// image columns with one masked load per run (loadRunsAVX512): ents holds
// kk·2·16 entries, cnts kk·2 counts, x starts at the first row's channel.
func loadRuns(dst, x []float32, ents []runEnt, cnts []int32, kk, k0, rows, hw int) {
	_, _ = dst[rows*32-1], ents[kk*32-1]
	_ = cnts[kk*2-1]
	loadRunsAVX512(&dst[0], &x[0], &ents[0], &cnts[0], kk, k0, rows, hw)
}

//go:noescape
func loadRunsAVX2(dst, x *float32, ents *runEnt, cnts *int32, kk, k0, rows, hw int, lanes *[256][8]int32)

// laneMasks[m] is the AVX2 vector mask of the 8-bit lane mask m: lane l
// all ones where bit l of m is set.
var laneMasks = func() (t [256][8]int32) {
	for m := range t {
		for l := range 8 {
			if m>>l&1 != 0 {
				t[m][l] = -1
			}
		}
	}
	return t
}()

// loadRuns16 is loadRuns for 16-column panels (loadRunsAVX2): each entry's
// mask has 8 bits, one per lane of its half.
func loadRuns16(dst, x []float32, ents []runEnt, cnts []int32, kk, k0, rows, hw int) {
	_, _ = dst[rows*16-1], ents[kk*32-1]
	_ = cnts[kk*2-1]
	loadRunsAVX2(&dst[0], &x[0], &ents[0], &cnts[0], kk, k0, rows, hw, &laneMasks)
}

//go:noescape
func gatherRowsAVX2(dst, x *float32, idx *int32, masks *uint16, kk, k0, rows, hw int, lanes *[256][8]int32)

// gatherRows16 is gatherRows for 16-column panels (gatherRowsAVX2): each
// mask has 8 bits, one per column of its half.
func gatherRows16(dst, x []float32, idx []int32, masks []uint16, kk, k0, rows, hw int) {
	_, _ = dst[rows*16-1], idx[kk*32-1]
	_ = masks[kk*2-1]
	gatherRowsAVX2(&dst[0], &x[0], &idx[0], &masks[0], kk, k0, rows, hw, &laneMasks)
}

//go:noescape
func gatherColsTAVX2(dst, x *float32, cols *[4][32]int32, rows *int32, nrows, h, w int)

// gatherColsT16 is gatherColsT for 16-column panels (gatherColsTAVX2).
func gatherColsT16(dst, x []float32, cols *[4][32]int32, rows []int32, h, w int) {
	nrows := len(rows) / 3
	_ = dst[nrows*16-1]
	gatherColsTAVX2(&dst[0], &x[0], cols, &rows[0], nrows, h, w)
}

// kernelEpi runs the AVX-512 kernel, which applies e as it stores the tile.
func kernelEpi(k int, a, b, c *float32, ldc int, add bool, e *tileEpi) {
	sgemmKernel8x32(k, a, b, c, ldc, add, e)
}

// asmKernels lists the kernels of this build, widest first.
var asmKernels = []*microKernel{
	{name: "avx512", usable: cpu.X86.HasAVX512F, mr: 8, nr: 32, kc: 256, mc: 128, nc: 4096, epi: true, runs: loadRuns, gathers: gatherRows, gathersT: gatherColsT,
		run: func(k int, a, b, c *float32, ldc int, add bool) { sgemmKernel8x32(k, a, b, c, ldc, add, nil) }},
	{name: "avx2", usable: cpu.X86.HasAVX2 && cpu.X86.HasFMA, mr: 6, nr: 16, kc: 256, mc: 72, nc: 4080, runs: loadRuns16, gathers: gatherRows16, gathersT: gatherColsT16, run: sgemmKernel6x16},
}
