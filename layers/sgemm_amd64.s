//go:build amd64 && !purego && !openblas

#include "textflag.h"

// func sgemmKernel6x16(k int, a, b, c *float32, ldc int, add bool)
//
// c[r*ldc+j] (+)= Σ_p a[p*6+r] * b[p*16+j] for r < 6, j < 16, adding to c
// when add, storing over it otherwise: a is a packed 6-row panel of A, b a
// packed 16-column panel of B. AVX2 and FMA.
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-41
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop:
	TESTQ CX, CX
	JEQ   done
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VBROADCASTSS (SI), Y14
	VBROADCASTSS 4(SI), Y15
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS 8(SI), Y14
	VBROADCASTSS 12(SI), Y15
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS 16(SI), Y14
	VBROADCASTSS 20(SI), Y15
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $24, SI
	ADDQ         $64, DI
	DECQ         CX
	JMP          loop

done:
	MOVBLZX add+40(FP), AX
	TESTL   AX, AX
	JEQ     store
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DX)
	VADDPS  32(DX), Y1, Y1
	VMOVUPS Y1, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y2, Y2
	VMOVUPS Y2, (DX)
	VADDPS  32(DX), Y3, Y3
	VMOVUPS Y3, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y4, Y4
	VMOVUPS Y4, (DX)
	VADDPS  32(DX), Y5, Y5
	VMOVUPS Y5, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y6, Y6
	VMOVUPS Y6, (DX)
	VADDPS  32(DX), Y7, Y7
	VMOVUPS Y7, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y8, Y8
	VMOVUPS Y8, (DX)
	VADDPS  32(DX), Y9, Y9
	VMOVUPS Y9, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y10, Y10
	VMOVUPS Y10, (DX)
	VADDPS  32(DX), Y11, Y11
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

store:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

// func sgemmKernel8x32(k int, a, b, c *float32, ldc int, add bool, e *tileEpi)
//
// c[r*ldc+j] (+)= Σ_p a[p*8+r] * b[p*32+j] for r < 8, j < 32, adding to c
// when add, storing over it otherwise: a is a packed 8-row panel of A, b a
// packed 32-column panel of B. With e (not nil), each value v (the sum,
// plus c's value when add) is stored as act((v*scale[r] + shift[r]) +
// res[r*ldc+j]), each operation rounded on its own: no residual when
// e.res is nil, act the ReLU of affineAVX512 when e.relu, else the
// identity. AVX-512F.
TEXT ·sgemmKernel8x32(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

loop2:
	CMPQ CX, $2
	JLT  loop1
	VMOVUPS 0(DI), Z16
	VMOVUPS 64(DI), Z17
	VBROADCASTSS 0(SI), Z18
	VFMADD231PS Z16, Z18, Z0
	VFMADD231PS Z17, Z18, Z1
	VBROADCASTSS 4(SI), Z19
	VFMADD231PS Z16, Z19, Z2
	VFMADD231PS Z17, Z19, Z3
	VBROADCASTSS 8(SI), Z18
	VFMADD231PS Z16, Z18, Z4
	VFMADD231PS Z17, Z18, Z5
	VBROADCASTSS 12(SI), Z19
	VFMADD231PS Z16, Z19, Z6
	VFMADD231PS Z17, Z19, Z7
	VBROADCASTSS 16(SI), Z18
	VFMADD231PS Z16, Z18, Z8
	VFMADD231PS Z17, Z18, Z9
	VBROADCASTSS 20(SI), Z19
	VFMADD231PS Z16, Z19, Z10
	VFMADD231PS Z17, Z19, Z11
	VBROADCASTSS 24(SI), Z18
	VFMADD231PS Z16, Z18, Z12
	VFMADD231PS Z17, Z18, Z13
	VBROADCASTSS 28(SI), Z19
	VFMADD231PS Z16, Z19, Z14
	VFMADD231PS Z17, Z19, Z15
	VMOVUPS 128(DI), Z16
	VMOVUPS 192(DI), Z17
	VBROADCASTSS 32(SI), Z18
	VFMADD231PS Z16, Z18, Z0
	VFMADD231PS Z17, Z18, Z1
	VBROADCASTSS 36(SI), Z19
	VFMADD231PS Z16, Z19, Z2
	VFMADD231PS Z17, Z19, Z3
	VBROADCASTSS 40(SI), Z18
	VFMADD231PS Z16, Z18, Z4
	VFMADD231PS Z17, Z18, Z5
	VBROADCASTSS 44(SI), Z19
	VFMADD231PS Z16, Z19, Z6
	VFMADD231PS Z17, Z19, Z7
	VBROADCASTSS 48(SI), Z18
	VFMADD231PS Z16, Z18, Z8
	VFMADD231PS Z17, Z18, Z9
	VBROADCASTSS 52(SI), Z19
	VFMADD231PS Z16, Z19, Z10
	VFMADD231PS Z17, Z19, Z11
	VBROADCASTSS 56(SI), Z18
	VFMADD231PS Z16, Z18, Z12
	VFMADD231PS Z17, Z18, Z13
	VBROADCASTSS 60(SI), Z19
	VFMADD231PS Z16, Z19, Z14
	VFMADD231PS Z17, Z19, Z15
	ADDQ $64, SI
	ADDQ $256, DI
	SUBQ $2, CX
	JMP  loop2

loop1:
	TESTQ CX, CX
	JEQ   done
	VMOVUPS 0(DI), Z16
	VMOVUPS 64(DI), Z17
	VBROADCASTSS 0(SI), Z18
	VFMADD231PS Z16, Z18, Z0
	VFMADD231PS Z17, Z18, Z1
	VBROADCASTSS 4(SI), Z19
	VFMADD231PS Z16, Z19, Z2
	VFMADD231PS Z17, Z19, Z3
	VBROADCASTSS 8(SI), Z18
	VFMADD231PS Z16, Z18, Z4
	VFMADD231PS Z17, Z18, Z5
	VBROADCASTSS 12(SI), Z19
	VFMADD231PS Z16, Z19, Z6
	VFMADD231PS Z17, Z19, Z7
	VBROADCASTSS 16(SI), Z18
	VFMADD231PS Z16, Z18, Z8
	VFMADD231PS Z17, Z18, Z9
	VBROADCASTSS 20(SI), Z19
	VFMADD231PS Z16, Z19, Z10
	VFMADD231PS Z17, Z19, Z11
	VBROADCASTSS 24(SI), Z18
	VFMADD231PS Z16, Z18, Z12
	VFMADD231PS Z17, Z18, Z13
	VBROADCASTSS 28(SI), Z19
	VFMADD231PS Z16, Z19, Z14
	VFMADD231PS Z17, Z19, Z15
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JMP  loop1

done:
	MOVQ e+48(FP), R9
	TESTQ R9, R9
	JNE  epi
	MOVBLZX add+40(FP), AX
	TESTL AX, AX
	JEQ   store
	VADDPS 0(DX), Z0, Z0
	VMOVUPS Z0, 0(DX)
	VADDPS 64(DX), Z1, Z1
	VMOVUPS Z1, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z2, Z2
	VMOVUPS Z2, 0(DX)
	VADDPS 64(DX), Z3, Z3
	VMOVUPS Z3, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z4, Z4
	VMOVUPS Z4, 0(DX)
	VADDPS 64(DX), Z5, Z5
	VMOVUPS Z5, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z6, Z6
	VMOVUPS Z6, 0(DX)
	VADDPS 64(DX), Z7, Z7
	VMOVUPS Z7, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z8, Z8
	VMOVUPS Z8, 0(DX)
	VADDPS 64(DX), Z9, Z9
	VMOVUPS Z9, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z10, Z10
	VMOVUPS Z10, 0(DX)
	VADDPS 64(DX), Z11, Z11
	VMOVUPS Z11, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z12, Z12
	VMOVUPS Z12, 0(DX)
	VADDPS 64(DX), Z13, Z13
	VMOVUPS Z13, 64(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Z14, Z14
	VMOVUPS Z14, 0(DX)
	VADDPS 64(DX), Z15, Z15
	VMOVUPS Z15, 64(DX)
	VZEROUPPER
	RET

store:
	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z2, 0(DX)
	VMOVUPS Z3, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z4, 0(DX)
	VMOVUPS Z5, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z6, 0(DX)
	VMOVUPS Z7, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z8, 0(DX)
	VMOVUPS Z9, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z10, 0(DX)
	VMOVUPS Z11, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z12, 0(DX)
	VMOVUPS Z13, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z14, 0(DX)
	VMOVUPS Z15, 64(DX)
	VZEROUPPER
	RET

epi:
	MOVBLZX add+40(FP), AX
	TESTL AX, AX
	JEQ   epiaffine
	MOVQ  DX, BX
	VADDPS 0(BX), Z0, Z0
	VADDPS 64(BX), Z1, Z1
	ADDQ R8, BX
	VADDPS 0(BX), Z2, Z2
	VADDPS 64(BX), Z3, Z3
	ADDQ R8, BX
	VADDPS 0(BX), Z4, Z4
	VADDPS 64(BX), Z5, Z5
	ADDQ R8, BX
	VADDPS 0(BX), Z6, Z6
	VADDPS 64(BX), Z7, Z7
	ADDQ R8, BX
	VADDPS 0(BX), Z8, Z8
	VADDPS 64(BX), Z9, Z9
	ADDQ R8, BX
	VADDPS 0(BX), Z10, Z10
	VADDPS 64(BX), Z11, Z11
	ADDQ R8, BX
	VADDPS 0(BX), Z12, Z12
	VADDPS 64(BX), Z13, Z13
	ADDQ R8, BX
	VADDPS 0(BX), Z14, Z14
	VADDPS 64(BX), Z15, Z15

epiaffine:
	MOVQ 0(R9), R10 // scale
	MOVQ 8(R9), R11 // shift
	VBROADCASTSS 0(R10), Z16
	VBROADCASTSS 0(R11), Z17
	VMULPS Z16, Z0, Z0
	VMULPS Z16, Z1, Z1
	VADDPS Z17, Z0, Z0
	VADDPS Z17, Z1, Z1
	VBROADCASTSS 4(R10), Z16
	VBROADCASTSS 4(R11), Z17
	VMULPS Z16, Z2, Z2
	VMULPS Z16, Z3, Z3
	VADDPS Z17, Z2, Z2
	VADDPS Z17, Z3, Z3
	VBROADCASTSS 8(R10), Z16
	VBROADCASTSS 8(R11), Z17
	VMULPS Z16, Z4, Z4
	VMULPS Z16, Z5, Z5
	VADDPS Z17, Z4, Z4
	VADDPS Z17, Z5, Z5
	VBROADCASTSS 12(R10), Z16
	VBROADCASTSS 12(R11), Z17
	VMULPS Z16, Z6, Z6
	VMULPS Z16, Z7, Z7
	VADDPS Z17, Z6, Z6
	VADDPS Z17, Z7, Z7
	VBROADCASTSS 16(R10), Z16
	VBROADCASTSS 16(R11), Z17
	VMULPS Z16, Z8, Z8
	VMULPS Z16, Z9, Z9
	VADDPS Z17, Z8, Z8
	VADDPS Z17, Z9, Z9
	VBROADCASTSS 20(R10), Z16
	VBROADCASTSS 20(R11), Z17
	VMULPS Z16, Z10, Z10
	VMULPS Z16, Z11, Z11
	VADDPS Z17, Z10, Z10
	VADDPS Z17, Z11, Z11
	VBROADCASTSS 24(R10), Z16
	VBROADCASTSS 24(R11), Z17
	VMULPS Z16, Z12, Z12
	VMULPS Z16, Z13, Z13
	VADDPS Z17, Z12, Z12
	VADDPS Z17, Z13, Z13
	VBROADCASTSS 28(R10), Z16
	VBROADCASTSS 28(R11), Z17
	VMULPS Z16, Z14, Z14
	VMULPS Z16, Z15, Z15
	VADDPS Z17, Z14, Z14
	VADDPS Z17, Z15, Z15
	MOVQ  16(R9), BX // res
	TESTQ BX, BX
	JEQ   epirelu
	VADDPS 0(BX), Z0, Z0
	VADDPS 64(BX), Z1, Z1
	ADDQ R8, BX
	VADDPS 0(BX), Z2, Z2
	VADDPS 64(BX), Z3, Z3
	ADDQ R8, BX
	VADDPS 0(BX), Z4, Z4
	VADDPS 64(BX), Z5, Z5
	ADDQ R8, BX
	VADDPS 0(BX), Z6, Z6
	VADDPS 64(BX), Z7, Z7
	ADDQ R8, BX
	VADDPS 0(BX), Z8, Z8
	VADDPS 64(BX), Z9, Z9
	ADDQ R8, BX
	VADDPS 0(BX), Z10, Z10
	VADDPS 64(BX), Z11, Z11
	ADDQ R8, BX
	VADDPS 0(BX), Z12, Z12
	VADDPS 64(BX), Z13, Z13
	ADDQ R8, BX
	VADDPS 0(BX), Z14, Z14
	VADDPS 64(BX), Z15, Z15

epirelu:
	MOVBLZX 24(R9), AX // relu
	TESTL   AX, AX
	JEQ     store
	VPXORD  Z18, Z18, Z18
	VCMPPS    $0x16, Z18, Z0, K1 // x > 0 or NaN
	VMOVAPS.Z Z0, K1, Z0
	VCMPPS    $0x16, Z18, Z1, K1 // x > 0 or NaN
	VMOVAPS.Z Z1, K1, Z1
	VCMPPS    $0x16, Z18, Z2, K1 // x > 0 or NaN
	VMOVAPS.Z Z2, K1, Z2
	VCMPPS    $0x16, Z18, Z3, K1 // x > 0 or NaN
	VMOVAPS.Z Z3, K1, Z3
	VCMPPS    $0x16, Z18, Z4, K1 // x > 0 or NaN
	VMOVAPS.Z Z4, K1, Z4
	VCMPPS    $0x16, Z18, Z5, K1 // x > 0 or NaN
	VMOVAPS.Z Z5, K1, Z5
	VCMPPS    $0x16, Z18, Z6, K1 // x > 0 or NaN
	VMOVAPS.Z Z6, K1, Z6
	VCMPPS    $0x16, Z18, Z7, K1 // x > 0 or NaN
	VMOVAPS.Z Z7, K1, Z7
	VCMPPS    $0x16, Z18, Z8, K1 // x > 0 or NaN
	VMOVAPS.Z Z8, K1, Z8
	VCMPPS    $0x16, Z18, Z9, K1 // x > 0 or NaN
	VMOVAPS.Z Z9, K1, Z9
	VCMPPS    $0x16, Z18, Z10, K1 // x > 0 or NaN
	VMOVAPS.Z Z10, K1, Z10
	VCMPPS    $0x16, Z18, Z11, K1 // x > 0 or NaN
	VMOVAPS.Z Z11, K1, Z11
	VCMPPS    $0x16, Z18, Z12, K1 // x > 0 or NaN
	VMOVAPS.Z Z12, K1, Z12
	VCMPPS    $0x16, Z18, Z13, K1 // x > 0 or NaN
	VMOVAPS.Z Z13, K1, Z13
	VCMPPS    $0x16, Z18, Z14, K1 // x > 0 or NaN
	VMOVAPS.Z Z14, K1, Z14
	VCMPPS    $0x16, Z18, Z15, K1 // x > 0 or NaN
	VMOVAPS.Z Z15, K1, Z15
	JMP store

// func gatherRowsAVX512(dst, x *float32, idx *int32, masks *uint16, kk, k0, rows, hw int)
//
// Packs rows of a 32-column panel of image columns: row r (r < rows)
// holds, in column q, x[ch*hw + idx[kj*32+q]] where mask bit q%16 of
// masks[kj*2+q/16] is set, and +0 where it is not, with kj = (k0+r) % kk
// and ch = (k0+r) / kk (the row's channel counted from x). The rows are
// written one after another, 32 values each. Masked-off columns read
// nothing. AVX-512F.
TEXT ·gatherRowsAVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ idx+16(FP), R8
	MOVQ masks+24(FP), R9
	MOVQ kk+32(FP), R10
	MOVQ k0+40(FP), R11
	MOVQ rows+48(FP), CX
	MOVQ hw+56(FP), R12
	SHLQ $2, R12
	TESTQ CX, CX
	JEQ gdone

gloop:
	MOVQ R11, AX
	SHLQ $7, AX // kj*128 bytes of indices
	MOVQ R11, BX
	SHLQ $2, BX // kj*4 bytes of masks
	VMOVDQU32 0(R8)(AX*1), Z1
	VMOVDQU32 64(R8)(AX*1), Z2
	KMOVW 0(R9)(BX*1), K1
	KMOVW 2(R9)(BX*1), K2
	VPXORD Z0, Z0, Z0
	VPXORD Z3, Z3, Z3
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VGATHERDPS (SI)(Z2*4), K2, Z3
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z3, 64(DI)
	ADDQ $128, DI
	INCQ R11
	CMPQ R11, R10
	JLT  gnext
	XORQ R11, R11
	ADDQ R12, SI

gnext:
	DECQ CX
	JNZ  gloop

gdone:
	VZEROUPPER
	RET

// func gatherColsTAVX512(dst, x *float32, cols *[4][32]int32, rows *int32, nrows, h, w int)
//
// Packs rows of a 32-column panel of transposed image columns: row t
// (t < nrows), with (base, iy0, ix0) = rows[3t:3t+3], holds in column q
// x[base + cols[0][q]] where iy0 + cols[1][q] is in [0, h) and
// ix0 + cols[2][q] in [0, w) (compared unsigned), and +0 elsewhere.
// Masked-off columns read nothing. AVX-512F.
TEXT ·gatherColsTAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ cols+16(FP), AX
	MOVQ rows+24(FP), R9
	MOVQ nrows+32(FP), CX
	MOVQ h+40(FP), R10
	MOVQ w+48(FP), R11
	VMOVDQU32 0(AX), Z24   // offsets
	VMOVDQU32 64(AX), Z25
	VMOVDQU32 128(AX), Z20 // row offsets
	VMOVDQU32 192(AX), Z21
	VMOVDQU32 256(AX), Z22 // column offsets
	VMOVDQU32 320(AX), Z23
	VPBROADCASTD R10, Z26
	VPBROADCASTD R11, Z27
	TESTQ CX, CX
	JEQ tdone

tloop:
	VPBROADCASTD 4(R9), Z4
	VPADDD Z20, Z4, Z5
	VPADDD Z21, Z4, Z6
	VPBROADCASTD 8(R9), Z7
	VPADDD Z22, Z7, Z8
	VPADDD Z23, Z7, Z9
	VPCMPUD $1, Z26, Z5, K1
	VPCMPUD $1, Z27, Z8, K1, K1
	VPCMPUD $1, Z26, Z6, K2
	VPCMPUD $1, Z27, Z9, K2, K2
	VPBROADCASTD 0(R9), Z10
	VPADDD Z24, Z10, Z11
	VPADDD Z25, Z10, Z12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VGATHERDPS (SI)(Z11*4), K1, Z0
	VGATHERDPS (SI)(Z12*4), K2, Z1
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, DI
	ADDQ $12, R9
	DECQ CX
	JNZ  tloop

tdone:
	VZEROUPPER
	RET

// func loadRunsAVX512(dst, x *float32, ents *runEnt, cnts *int32, kk, k0, rows, hw int)
//
// Packs rows of a 32-column panel of image columns of a stride-1
// convolution from runs of consecutive values: row r (r < rows), with
// t = (k0+r) % kk, is +0 but for the lanes of each entry e of
// ents[t][half][:cnts[t][half]], 16 lanes a half, where lane l of the half
// gets x[ch*hw + e.off + l] for the lanes in e.mask (ch = (k0+r)/kk,
// counted from x). Each entry is one masked load; masked-off lanes read
// nothing. AVX-512F.
TEXT ·loadRunsAVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ents+16(FP), R8
	MOVQ cnts+24(FP), R9
	MOVQ kk+32(FP), R10
	MOVQ k0+40(FP), R11
	MOVQ rows+48(FP), CX
	MOVQ hw+56(FP), R12
	SHLQ $2, R12
	TESTQ CX, CX
	JEQ rdone

rrow:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ R11, AX
	SHLQ $8, AX // t*256 bytes of entries
	LEAQ 0(R8)(AX*1), R13
	MOVL 0(R9)(R11*8), DX

rh0:
	TESTL DX, DX
	JEQ   rh1start
	MOVLQSX 0(R13), AX
	MOVL    4(R13), BX
	KMOVW   BX, K1
	VMOVUPS (SI)(AX*4), K1, Z0
	ADDQ    $8, R13
	DECL    DX
	JMP     rh0

rh1start:
	MOVQ R11, AX
	SHLQ $8, AX
	LEAQ 128(R8)(AX*1), R13
	MOVL 4(R9)(R11*8), DX

rh1:
	TESTL DX, DX
	JEQ   rstore
	MOVLQSX 0(R13), AX
	MOVL    4(R13), BX
	KMOVW   BX, K1
	VMOVUPS (SI)(AX*4), K1, Z1
	ADDQ    $8, R13
	DECL    DX
	JMP     rh1

rstore:
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, DI
	INCQ R11
	CMPQ R11, R10
	JLT  rnext
	XORQ R11, R11
	ADDQ R12, SI

rnext:
	DECQ CX
	JNZ  rrow

rdone:
	VZEROUPPER
	RET

// func loadRunsAVX2(dst, x *float32, ents *runEnt, cnts *int32, kk, k0, rows, hw int, lanes *[256][8]int32)
//
// loadRunsAVX512 for a 16-column panel: 8 lanes a half, each entry's mask
// 8 bits, turned into a vector mask by lanes[mask]. A masked load reads
// zeros into its masked-off lanes (and nothing from memory there), and the
// entries of one half cover disjoint lanes, so OR gathers them. AVX2.
TEXT ·loadRunsAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ents+16(FP), R8
	MOVQ cnts+24(FP), R9
	MOVQ kk+32(FP), R10
	MOVQ k0+40(FP), R11
	MOVQ rows+48(FP), CX
	MOVQ hw+56(FP), R12
	MOVQ lanes+64(FP), R14
	SHLQ $2, R12
	TESTQ CX, CX
	JEQ ldone

lrow:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ R11, AX
	SHLQ $8, AX // t*256 bytes of entries
	LEAQ 0(R8)(AX*1), R13
	MOVL 0(R9)(R11*8), DX

lh0:
	TESTL DX, DX
	JEQ   lh1start
	MOVLQSX 0(R13), AX
	MOVL    4(R13), BX
	SHLQ    $5, BX
	VMOVDQU 0(R14)(BX*1), Y2
	VMASKMOVPS (SI)(AX*4), Y2, Y3
	VORPS   Y3, Y0, Y0
	ADDQ    $8, R13
	DECL    DX
	JMP     lh0

lh1start:
	MOVQ R11, AX
	SHLQ $8, AX
	LEAQ 128(R8)(AX*1), R13
	MOVL 4(R9)(R11*8), DX

lh1:
	TESTL DX, DX
	JEQ   lstore
	MOVLQSX 0(R13), AX
	MOVL    4(R13), BX
	SHLQ    $5, BX
	VMOVDQU 0(R14)(BX*1), Y2
	VMASKMOVPS (SI)(AX*4), Y2, Y3
	VORPS   Y3, Y1, Y1
	ADDQ    $8, R13
	DECL    DX
	JMP     lh1

lstore:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, DI
	INCQ R11
	CMPQ R11, R10
	JLT  lnext
	XORQ R11, R11
	ADDQ R12, SI

lnext:
	DECQ CX
	JNZ  lrow

ldone:
	VZEROUPPER
	RET

// func gatherRowsAVX2(dst, x *float32, idx *int32, masks *uint16, kk, k0, rows, hw int, lanes *[256][8]int32)
//
// gatherRowsAVX512 for a 16-column panel: the indices of kernel offset kj
// are idx[kj*32:kj*32+16], its masks masks[kj*2] (columns 0 to 7) and
// masks[kj*2+1] (8 to 15), 8 bits each, turned into vector masks by
// lanes[mask]. Masked-off columns read nothing and hold +0. AVX2.
TEXT ·gatherRowsAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ idx+16(FP), R8
	MOVQ masks+24(FP), R9
	MOVQ kk+32(FP), R10
	MOVQ k0+40(FP), R11
	MOVQ rows+48(FP), CX
	MOVQ hw+56(FP), R12
	MOVQ lanes+64(FP), R14
	SHLQ $2, R12
	TESTQ CX, CX
	JEQ hdone

hloop:
	MOVQ R11, AX
	SHLQ $7, AX // kj*128 bytes of indices
	MOVQ R11, BX
	SHLQ $2, BX // kj*4 bytes of masks
	VMOVDQU 0(R8)(AX*1), Y1
	VMOVDQU 32(R8)(AX*1), Y2
	MOVWQZX 0(R9)(BX*1), DX
	SHLQ $5, DX
	VMOVDQU 0(R14)(DX*1), Y4
	MOVWQZX 2(R9)(BX*1), DX
	SHLQ $5, DX
	VMOVDQU 0(R14)(DX*1), Y5
	VXORPS Y0, Y0, Y0
	VXORPS Y3, Y3, Y3
	VGATHERDPS Y4, (SI)(Y1*4), Y0
	VGATHERDPS Y5, (SI)(Y2*4), Y3
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, DI
	INCQ R11
	CMPQ R11, R10
	JLT  hnext
	XORQ R11, R11
	ADDQ R12, SI

hnext:
	DECQ CX
	JNZ  hloop

hdone:
	VZEROUPPER
	RET

// func gatherColsTAVX2(dst, x *float32, cols *[4][32]int32, rows *int32, nrows, h, w int)
//
// gatherColsTAVX512 for a 16-column panel (cols[k][0:16]): the window
// test is two signed compares a bound (-1 < v < limit), exact for the
// small values a convolution has. AVX2.
TEXT ·gatherColsTAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ cols+16(FP), AX
	MOVQ rows+24(FP), R9
	MOVQ nrows+32(FP), CX
	MOVQ h+40(FP), R10
	MOVQ w+48(FP), R11
	VMOVDQU 0(AX), Y8    // offsets
	VMOVDQU 32(AX), Y9
	VMOVDQU 128(AX), Y10 // row offsets
	VMOVDQU 160(AX), Y11
	VMOVDQU 256(AX), Y12 // column offsets
	VMOVDQU 288(AX), Y13
	MOVQ R10, X14
	VPBROADCASTD X14, Y14
	MOVQ R11, X15
	VPBROADCASTD X15, Y15
	VPCMPEQD Y7, Y7, Y7 // -1
	TESTQ CX, CX
	JEQ udone

uloop:
	VPBROADCASTD 4(R9), Y4
	VPADDD Y10, Y4, Y5 // rows, columns 0 to 7
	VPADDD Y11, Y4, Y6 // rows, columns 8 to 15
	VPBROADCASTD 8(R9), Y4
	VPADDD Y12, Y4, Y2
	VPADDD Y13, Y4, Y3
	VPCMPGTD Y7, Y5, Y0  // row > -1
	VPCMPGTD Y5, Y14, Y1 // h > row
	VPAND Y1, Y0, Y0
	VPCMPGTD Y7, Y2, Y1
	VPAND Y1, Y0, Y0
	VPCMPGTD Y2, Y15, Y1
	VPAND Y1, Y0, Y0     // mask, columns 0 to 7
	VPCMPGTD Y7, Y6, Y1
	VPCMPGTD Y6, Y14, Y2
	VPAND Y2, Y1, Y1
	VPCMPGTD Y7, Y3, Y2
	VPAND Y2, Y1, Y1
	VPCMPGTD Y3, Y15, Y2
	VPAND Y2, Y1, Y1     // mask, columns 8 to 15
	VPBROADCASTD 0(R9), Y4
	VPADDD Y8, Y4, Y5
	VPADDD Y9, Y4, Y6
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VGATHERDPS Y0, (SI)(Y5*4), Y2
	VGATHERDPS Y1, (SI)(Y6*4), Y3
	VMOVUPS Y2, 0(DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, DI
	ADDQ $12, R9
	DECQ CX
	JNZ  uloop

udone:
	VZEROUPPER
	RET
