//go:build amd64 && !purego && !openblas

#include "textflag.h"

// func affineAVX2(dst, src, res *float32, n int, scale, shift float32, relu bool)
//
// dst[i] = act((src[i]*scale + shift) + res[i]) for i < n, n a multiple of
// 8, each operation rounded on its own as Go rounds it; without res (nil)
// no addition, and act is the identity unless relu, where it keeps x when
// x > 0 or x is a NaN and writes +0 otherwise (reluInPlace). AVX2.
TEXT ·affineAVX2(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ res+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Y0
	VBROADCASTSS shift+36(FP), Y1
	MOVBLZX relu+40(FP), AX
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
	JZ done

loop:
	VMULPS (SI), Y0, Y3
	VADDPS Y1, Y3, Y3
	TESTQ DX, DX
	JZ act
	VADDPS (DX), Y3, Y3
	ADDQ $32, DX

act:
	TESTB AL, AL
	JZ store
	VCMPPS $0x16, Y2, Y3, Y4 // not (x <= 0), unordered true: x > 0 or NaN
	VANDPS Y4, Y3, Y3

store:
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// func reluAVX2(s *float32, n int)
//
// s[i] = s[i] where s[i] > 0 or s[i] is a NaN, +0 elsewhere, for i < n, n a
// multiple of 8. AVX2.
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ s+0(FP), DI
	MOVQ n+8(FP), CX
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
	JZ done

loop:
	VMOVUPS (DI), Y3
	VCMPPS $0x16, Y2, Y3, Y4
	VANDPS Y4, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// func affineAVX512(dst, src, res *float32, n int, scale, shift float32, relu bool)
//
// affineAVX2 for n a multiple of 16, 16 values at a time: the loads of a
// tile the 8x32 kernel has just stored match its stores one for one, so
// they are forwarded from the store buffer instead of waiting for it.
// AVX-512F.
TEXT ·affineAVX512(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ res+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Z0
	VBROADCASTSS shift+36(FP), Z1
	MOVBLZX relu+40(FP), AX
	VPXORD Z2, Z2, Z2
	SHRQ $4, CX
	JZ done

loop:
	VMULPS (SI), Z0, Z3
	VADDPS Z1, Z3, Z3
	TESTQ DX, DX
	JZ act
	VADDPS (DX), Z3, Z3
	ADDQ $64, DX

act:
	TESTB AL, AL
	JZ store
	VCMPPS $0x16, Z2, Z3, K1 // x > 0 or NaN
	VMOVAPS.Z Z3, K1, Z3

store:
	VMOVUPS Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// func maskPosAVX2(y, dy, out *float32, n int)
//
// out[i] = dy[i] where y[i] > 0, +0 elsewhere (a NaN is not > 0), for
// i < n, n a multiple of 8; out may be dy. AVX2.
TEXT ·maskPosAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), SI
	MOVQ dy+8(FP), DX
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
	JZ done

loop:
	VMOVUPS (SI), Y3
	VCMPPS $0x1e, Y2, Y3, Y4 // y > 0, ordered: false for a NaN
	VANDPS (DX), Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// func sumLanesAVX2(x *float32, n int, acc *[16]float64)
//
// acc[i%16] += float64(x[i]) for i < n, n a multiple of 16, each lane's
// additions in order. AVX2.
TEXT ·sumLanesAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ acc+16(FP), DI
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	SHRQ $4, CX
	JZ done

loop:
	VCVTPS2PD 0(SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	DECQ CX
	JNZ loop

done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func sqDevLanesAVX2(x *float32, n int, mean float64, acc *[16]float64)
//
// acc[i%16] += d*d, d = float64(x[i]) - mean, for i < n, n a multiple of
// 16, the subtraction, the product and the addition each rounded on its
// own, each lane's additions in order. AVX2.
TEXT ·sqDevLanesAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y8
	MOVQ acc+24(FP), DI
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	SHRQ $4, CX
	JZ done

loop:
	VCVTPS2PD 0(SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VSUBPD Y8, Y4, Y4
	VSUBPD Y8, Y5, Y5
	VSUBPD Y8, Y6, Y6
	VSUBPD Y8, Y7, Y7
	VMULPD Y4, Y4, Y4
	VMULPD Y5, Y5, Y5
	VMULPD Y6, Y6, Y6
	VMULPD Y7, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	DECQ CX
	JNZ loop

done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func gradSumsAVX2(x, y, dy *float32, n int, mean float32, lanes *[32]float32)
//
// With d = dy[i], or d = dy[i] where y[i] > 0 and +0 elsewhere when y is
// not nil: lanes[i%16] += d and lanes[16+i%16] += d*(x[i]-mean) for
// i < n, n a multiple of 16, each operation rounded on its own, each
// lane's additions in order. AVX2.
TEXT ·gradSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), BX
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS mean+32(FP), Y8
	MOVQ lanes+40(FP), DI
	VXORPS Y9, Y9, Y9
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	SHRQ $4, CX
	JZ done

loop:
	VMOVUPS 0(DX), Y4
	VMOVUPS 32(DX), Y5
	TESTQ BX, BX
	JZ sums
	VCMPPS $0x11, 0(BX), Y9, Y6 // 0 < y, ordered: false for a NaN
	VCMPPS $0x11, 32(BX), Y9, Y7
	VANDPS Y6, Y4, Y4
	VANDPS Y7, Y5, Y5
	ADDQ $64, BX

sums:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VMOVUPS 0(SI), Y6
	VMOVUPS 32(SI), Y7
	VSUBPS Y8, Y6, Y6
	VSUBPS Y8, Y7, Y7
	VMULPS Y6, Y4, Y6
	VMULPS Y7, Y5, Y7
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	ADDQ $64, SI
	ADDQ $64, DX
	DECQ CX
	JNZ loop

done:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func bnGradXAVX2(x, y, dy, out *float32, n int, a, b, c, mean float32)
//
// out[i] = (a*d + b*(x[i]-mean)) + c, d as in gradSumsAVX2, for i < n, n a
// multiple of 8, each operation rounded on its own. AVX2.
TEXT ·bnGradXAVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), BX
	MOVQ dy+16(FP), DX
	MOVQ out+24(FP), DI
	MOVQ n+32(FP), CX
	VBROADCASTSS a+40(FP), Y0
	VBROADCASTSS b+44(FP), Y1
	VBROADCASTSS c+48(FP), Y2
	VBROADCASTSS mean+52(FP), Y3
	VXORPS Y9, Y9, Y9
	SHRQ $3, CX
	JZ done

loop:
	VMOVUPS (DX), Y4
	TESTQ BX, BX
	JZ calc
	VCMPPS $0x11, (BX), Y9, Y6 // 0 < y
	VANDPS Y6, Y4, Y4
	ADDQ $32, BX

calc:
	VMULPS Y0, Y4, Y4
	VMOVUPS (SI), Y5
	VSUBPS Y3, Y5, Y5
	VMULPS Y1, Y5, Y5
	VADDPS Y5, Y4, Y4
	VADDPS Y2, Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// COMB sets best to v in the lanes where v > best or v is a NaN and best
// is not: a window's maximum taken in reading order, the first NaN winning.
#define COMB(best, v) \
	VCMPPS $0x1e, best, v, K1 \
	VCMPPS $3, v, v, K2 \
	VCMPPS $7, best, best, K3 \
	KANDW  K2, K3, K2 \
	KORW   K1, K2, K1 \
	VMOVAPS v, K1, best

// func maxPool3s2AVX512(dst *float32, rows *[3]*float32, nrows, w, ow int, idx *[3][16]int32)
//
// One output row of a 3x3 max pooling with stride 2 and padding 1:
// dst[j] = the maximum (COMB, in reading order) of rows[r][2j-1+t] for
// r < nrows and t < 3, columns outside [0, w) left out, for j < ow.
// idx holds 0..15, the even indices 0..30 and the odd ones 1..31. AVX-512F.
TEXT ·maxPool3s2AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), R8
	MOVQ nrows+16(FP), R9
	MOVQ w+24(FP), R10
	MOVQ ow+32(FP), R11
	MOVQ idx+40(FP), AX
	VMOVDQU32 0(AX), Z30  // 0..15
	VMOVDQU32 64(AX), Z29 // evens
	VMOVDQU32 128(AX), Z28 // odds
	VPBROADCASTD R10, Z27 // w
	VPBROADCASTD R11, Z26 // ow
	MOVL $0xff800000, BX
	VPBROADCASTD BX, Z31 // -Inf
	XORQ CX, CX // j0

pcol:
	CMPQ CX, R11
	JGE  pdone
	// masks of the columns read: 2*j0-1+t, +16, +2, +18
	LEAQ -1(CX)(CX*1), BX
	VPBROADCASTD BX, Z20
	VPADDD Z30, Z20, Z20
	VPCMPUD $1, Z27, Z20, K4
	MOVL $16, DX
	VPBROADCASTD DX, Z21
	VPADDD Z21, Z20, Z22
	VPCMPUD $1, Z27, Z22, K5
	MOVL $2, DX
	VPBROADCASTD DX, Z21
	VPADDD Z21, Z20, Z23
	VPCMPUD $1, Z27, Z23, K6
	MOVL $16, DX
	VPBROADCASTD DX, Z21
	VPADDD Z21, Z23, Z23
	VPCMPUD $1, Z27, Z23, K7
	XORQ DX, DX // row

prow:
	MOVQ (R8)(DX*8), SI
	LEAQ (SI)(BX*4), SI // &row[2*j0-1]
	VMOVAPS Z31, Z0
	VMOVAPS Z31, Z1
	VMOVAPS Z31, Z2
	VMOVAPS Z31, Z3
	VMOVUPS 0(SI), K4, Z0
	VMOVUPS 64(SI), K5, Z1
	VMOVUPS 8(SI), K6, Z2
	VMOVUPS 72(SI), K7, Z3
	VMOVAPS Z29, Z4
	VPERMI2PS Z1, Z0, Z4 // columns 2j-1
	VMOVAPS Z28, Z5
	VPERMI2PS Z1, Z0, Z5 // 2j
	VMOVAPS Z29, Z6
	VPERMI2PS Z3, Z2, Z6 // 2j+1
	TESTQ DX, DX
	JNE  pcomb
	VMOVAPS Z4, Z10
	JMP  prest

pcomb:
	COMB(Z10, Z4)

prest:
	COMB(Z10, Z5)
	COMB(Z10, Z6)
	INCQ DX
	CMPQ DX, R9
	JLT  prow
	// store the columns j0+t < ow
	VPBROADCASTD CX, Z20
	VPADDD Z30, Z20, Z20
	VPCMPUD $1, Z26, Z20, K1
	VMOVUPS Z10, K1, (DI)(CX*4)
	ADDQ $16, CX
	JMP  pcol

pdone:
	VZEROUPPER
	RET

// func copyRows32AVX512(dst, src *float32, n, stride int)
//
// dst[r*32+j] = src[r*stride+j] for r < n, j < 32: n rows of 32 values,
// stride values apart in src, one after another in dst. AVX-512F.
TEXT ·copyRows32AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	TESTQ CX, CX
	JEQ cdone

cloop:
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	ADDQ DX, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  cloop

cdone:
	VZEROUPPER
	RET

// func copyRows8AVX2(dst, src *float32, n, stride int)
//
// dst[r*8+j] = src[r*stride+j] for r < n, j < 8: n rows of 8 values,
// stride values apart in src, one after another in dst. AVX2.
TEXT ·copyRows8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	TESTQ CX, CX
	JEQ c8done

c8loop:
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ DX, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  c8loop

c8done:
	VZEROUPPER
	RET

// func transpose8AVX2(dst, src *float32, n, stride int)
//
// dst[p*8+r] = src[r*stride+p] for r < 8, p < n, n a multiple of 8: eight
// rows, stride values apart, interleaved a column at a time, by 8x8 blocks.
// AVX2.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	LEAQ (DX)(DX*2), R9 // 3 rows
	LEAQ (SI)(DX*4), R8 // row 4
	SHRQ $3, CX
	JZ   trdone

trloop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(DX*1), Y1
	VMOVUPS (SI)(DX*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R8), Y4
	VMOVUPS (R8)(DX*1), Y5
	VMOVUPS (R8)(DX*2), Y6
	VMOVUPS (R8)(R9*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xee, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xee, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xee, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xee, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, 0(DI)
	VMOVUPS Y9, 32(DI)
	VMOVUPS Y10, 64(DI)
	VMOVUPS Y11, 96(DI)
	VMOVUPS Y12, 128(DI)
	VMOVUPS Y13, 160(DI)
	VMOVUPS Y14, 192(DI)
	VMOVUPS Y15, 224(DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $256, DI
	DECQ CX
	JNZ  trloop

trdone:
	VZEROUPPER
	RET

// COMB2 is COMB in AVX2 for best Y11 and v Y1, with Y0, Y2 and Y12 for
// scratch.
#define COMB2 \
	VCMPPS $0x1e, Y11, Y1, Y0 \
	VCMPPS $3, Y1, Y1, Y2 \
	VCMPPS $7, Y11, Y11, Y12 \
	VANDPS Y12, Y2, Y2 \
	VORPS  Y2, Y0, Y0 \
	VBLENDVPS Y0, Y1, Y11, Y11

// GATHER2 gathers into Y1 the columns Y(cols) of the row at SI where mask
// Y(mask) is set, -Inf elsewhere, and combines them into Y11.
#define GATHER2(mask, cols) \
	VMOVAPS mask, Y0 \
	VMOVAPS Y6, Y1 \
	VGATHERDPS Y0, (SI)(cols*4), Y1 \
	COMB2

// func maxPool3s2AVX2(dst *float32, rows *[3]*float32, nrows, w, ow int, idx *[3][16]int32)
//
// maxPool3s2AVX512 with AVX2, 8 outputs at a time: output j reads the
// columns 2j-1+t by gathers masked to [0, w), the padding left at -Inf,
// which never wins. idx is maxPool3s2AVX512's: idx[0][:8] holds 0..7,
// idx[1][:8] the even numbers 0..14. AVX2.
TEXT ·maxPool3s2AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), R8
	MOVQ nrows+16(FP), R9
	MOVQ w+24(FP), R10
	MOVQ ow+32(FP), R11
	MOVQ idx+40(FP), AX
	VMOVDQU 64(AX), Y15 // evens
	MOVQ R10, X14
	VPBROADCASTD X14, Y14 // w
	VPCMPEQD Y7, Y7, Y7   // -1
	MOVL $0xff800000, BX
	MOVQ BX, X6
	VPBROADCASTD X6, Y6 // -Inf
	XORQ CX, CX         // j0

acol:
	CMPQ CX, R11
	JGE  adone
	LEAQ -1(CX)(CX*1), BX
	MOVQ BX, X8
	VPBROADCASTD X8, Y8
	VPADDD Y15, Y8, Y8 // columns 2j-1
	VPSUBD Y7, Y8, Y9  // 2j
	VPSUBD Y7, Y9, Y10 // 2j+1
	VPCMPGTD Y7, Y8, Y3 // -1 < column < w
	VPCMPGTD Y8, Y14, Y0
	VPAND Y0, Y3, Y3
	VPCMPGTD Y7, Y9, Y4
	VPCMPGTD Y9, Y14, Y0
	VPAND Y0, Y4, Y4
	VPCMPGTD Y7, Y10, Y5
	VPCMPGTD Y10, Y14, Y0
	VPAND Y0, Y5, Y5
	VMOVAPS Y6, Y11
	XORQ DX, DX // row

arow:
	MOVQ (R8)(DX*8), SI
	GATHER2(Y3, Y8)
	GATHER2(Y4, Y9)
	GATHER2(Y5, Y10)
	INCQ DX
	CMPQ DX, R9
	JLT  arow
	// store the columns j0+t < ow
	MOVQ R11, BX
	SUBQ CX, BX
	MOVQ BX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU 0(AX), Y2 // 0..7
	VPCMPGTD Y2, Y0, Y0
	VMASKMOVPS Y11, Y0, (DI)(CX*4)
	ADDQ $8, CX
	JMP  acol

adone:
	VZEROUPPER
	RET
