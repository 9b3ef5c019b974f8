//go:build amd64 && !purego

#include "textflag.h"

// adamConsts' fields, float64 each (optimizer.go).
#define WD 0
#define B1 8
#define OMB1 16
#define B2 24
#define OMB2 32
#define BC1 40
#define BC2 48
#define LR 56
#define EPS 64

// func adamAVX512(w, gr, m, v *float32, n int, c *adamConsts) bool
//
// adamGo for i < n, n a multiple of 8: in float64, each operation rounded
// on its own in adamGo's order, no fused multiply-add; m, v and w stored as
// float32 rounded to nearest, g zeroed. Reports whether every new w is
// finite. AVX-512F, 8 values at a time.
TEXT ·adamAVX512(SB), NOSPLIT, $0-49
	MOVQ w+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSD WD(AX), Z16
	VBROADCASTSD B1(AX), Z17
	VBROADCASTSD OMB1(AX), Z18
	VBROADCASTSD B2(AX), Z19
	VBROADCASTSD OMB2(AX), Z20
	VBROADCASTSD BC1(AX), Z21
	VBROADCASTSD BC2(AX), Z22
	VBROADCASTSD LR(AX), Z23
	VBROADCASTSD EPS(AX), Z24
	VXORPS Y14, Y14, Y14 // float32 zero
	VXORPS Y15, Y15, Y15 // the sum of w*0
	SHRQ $3, CX
	JZ done512

loop512:
	VCVTPS2PD (SI), Z0       // g
	VCVTPS2PD (DI), Z1       // w
	VMULPD Z16, Z1, Z2       // wd*w
	VADDPD Z2, Z0, Z0        // gi = g + wd*w
	VCVTPS2PD (DX), Z3
	VMULPD Z17, Z3, Z3       // b1*m
	VMULPD Z18, Z0, Z4       // (1-b1)*gi
	VADDPD Z4, Z3, Z3        // mi
	VCVTPS2PD (R8), Z5
	VMULPD Z19, Z5, Z5       // b2*v
	VMULPD Z20, Z0, Z6       // (1-b2)*gi
	VMULPD Z0, Z6, Z6        // (1-b2)*gi*gi
	VADDPD Z6, Z5, Z5        // vi
	VCVTPD2PS Z3, Y7
	VMOVUPS Y7, (DX)
	VCVTPD2PS Z5, Y8
	VMOVUPS Y8, (R8)
	VMOVUPS Y14, (SI)
	VDIVPD Z21, Z3, Z3       // mi/bc1
	VMULPD Z23, Z3, Z3       // lr*(mi/bc1)
	VDIVPD Z22, Z5, Z5       // vi/bc2
	VSQRTPD Z5, Z5
	VADDPD Z24, Z5, Z5       // sqrt(vi/bc2) + eps
	VDIVPD Z5, Z3, Z3
	VSUBPD Z3, Z1, Z1        // w - lr*(mi/bc1)/(sqrt(vi/bc2)+eps)
	VCVTPD2PS Z1, Y1
	VMOVUPS Y1, (DI)
	VMULPS Y14, Y1, Y9
	VADDPS Y9, Y15, Y15
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ loop512

done512:
	VCMPPS $0, Y14, Y15, Y15 // equal, ordered: false for a NaN
	VMOVMSKPS Y15, AX
	CMPL AX, $0xff
	SETEQ ret+48(FP)
	VZEROUPPER
	RET

// func adamAVX2(w, gr, m, v *float32, n int, c *adamConsts) bool
//
// adamAVX512 with AVX2, 4 values at a time; n a multiple of 8.
TEXT ·adamAVX2(SB), NOSPLIT, $0-49
	MOVQ w+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSD WD(AX), Y8
	VBROADCASTSD B1(AX), Y9
	VBROADCASTSD OMB1(AX), Y10
	VBROADCASTSD B2(AX), Y11
	VBROADCASTSD OMB2(AX), Y12
	VBROADCASTSD BC1(AX), Y13
	VBROADCASTSD BC2(AX), Y14
	VXORPS X15, X15, X15 // float32 zero; the sum of w*0 in X7
	VXORPS X7, X7, X7
	SHRQ $2, CX
	JZ done2

loop2:
	VCVTPS2PD (SI), Y0       // g
	VCVTPS2PD (DI), Y1       // w
	VMULPD Y8, Y1, Y2        // wd*w
	VADDPD Y2, Y0, Y0        // gi
	VCVTPS2PD (DX), Y3
	VMULPD Y9, Y3, Y3        // b1*m
	VMULPD Y10, Y0, Y4       // (1-b1)*gi
	VADDPD Y4, Y3, Y3        // mi
	VCVTPS2PD (R8), Y5
	VMULPD Y11, Y5, Y5       // b2*v
	VMULPD Y12, Y0, Y6       // (1-b2)*gi
	VMULPD Y0, Y6, Y6        // (1-b2)*gi*gi
	VADDPD Y6, Y5, Y5        // vi
	VCVTPD2PSY Y3, X2
	VMOVUPS X2, (DX)
	VCVTPD2PSY Y5, X2
	VMOVUPS X2, (R8)
	VMOVUPS X15, (SI)
	VDIVPD Y13, Y3, Y3       // mi/bc1
	VBROADCASTSD LR(AX), Y4
	VMULPD Y4, Y3, Y3        // lr*(mi/bc1)
	VDIVPD Y14, Y5, Y5       // vi/bc2
	VSQRTPD Y5, Y5
	VBROADCASTSD EPS(AX), Y4
	VADDPD Y4, Y5, Y5
	VDIVPD Y5, Y3, Y3
	VSUBPD Y3, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)
	VMULPS X15, X1, X2
	VADDPS X2, X7, X7
	ADDQ $16, DI
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, R8
	DECQ CX
	JNZ loop2

done2:
	VCMPPS $0, X15, X7, X7
	VMOVMSKPS X7, AX
	CMPL AX, $0xf
	SETEQ ret+48(FP)
	VZEROUPPER
	RET

// func nonFiniteAVX2(x *float32, n int) bool
//
// Reports whether x[:n], n a multiple of 8, holds a NaN or an infinity:
// a value whose exponent bits are all ones. AVX2.
TEXT ·nonFiniteAVX2(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x7f800000, AX
	MOVL AX, X0
	VPBROADCASTD X0, Y0
	VPXOR Y1, Y1, Y1
	SHRQ $3, CX
	JZ donenf

loopnf:
	VPAND (SI), Y0, Y2
	VPCMPEQD Y0, Y2, Y2
	VPOR Y2, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ loopnf

donenf:
	VPTEST Y1, Y1
	SETNE ret+16(FP)
	VZEROUPPER
	RET
