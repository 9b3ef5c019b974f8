//go:build !amd64 || purego

package layers

// microKernel is an assembly kernel; this build has none.
type microKernel struct {
	name   string
	usable bool
	mr, nr int
}

var asmKernels []*microKernel

func blockedSgemm(*microKernel) gemmFunc[float32] {
	panic("layers: no assembly sgemm in this build")
}
