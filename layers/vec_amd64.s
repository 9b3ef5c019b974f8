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
