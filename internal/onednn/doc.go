// Package onednn runs convolutions through oneDNN's C API (Debian's
// libdnnl-dev 2.6, cgo). It is built only with the onednn build tag; the
// layers package uses it under that tag.
//
// Tensors cross the boundary in plain layouts: NCHW activations, OIHW
// weights. Each convolution primitive is created for its shapes with
// format "any", so that oneDNN picks the layouts its
// kernels prefer (blocked ones on AVX-512 CPUs), and the reorders between
// the plain and the chosen layouts run inside the call. Primitives are
// created once per kind, shape, geometry and thread count, and cached.
//
// A Net (inference) can also run in bfloat16 (NewNet with BF16), where
// BF16Supported says that oneDNN's effective ISA has native bfloat16
// (avx512_core_bf16 or AMX).
//
// The library (libdnnl.so.2) is opened when the program starts, after
// OMP_WAIT_POLICY is set to PASSIVE unless OMP_WAIT_POLICY or
// GOMP_SPINCOUNT is set already: OpenMP reads it once, when it loads, and
// its threads would otherwise spin between calls, taking the cores from the
// Go code that runs between them and from other processes.
//
// Every call runs on one goroutine locked to its OS thread, so that
// oneDNN's OpenMP threads form one team and calls never overlap, on
// runtime.GOMAXPROCS threads: oneDNN follows GOMAXPROCS, whatever
// OMP_NUM_THREADS says.
package onednn
