//go:build !openblas

package layers

import (
	"os"
	"testing"
)

// TestGemmEnv checks that GOSIAMESE_GEMM names the path: generic is gonum
// everywhere, a kernel name is that kernel where the CPU can run it, and
// anything else falls back to the automatic choice.
func TestGemmEnv(t *testing.T) {
	if k := pickKernel("generic"); k != nil {
		t.Errorf("generic chose kernel %s, want gonum", k.name)
	}
	auto := pickKernel("")
	for _, k := range asmKernels {
		got := pickKernel(k.name)
		switch {
		case k.usable && got != k:
			t.Errorf("%s: chose %v", k.name, backendName(got))
		case !k.usable && got != auto:
			t.Errorf("%s (unusable here): chose %v, want the automatic %v", k.name, backendName(got), backendName(auto))
		}
	}
	if got := pickKernel("no-such-kernel"); got != auto {
		t.Errorf("an unknown name chose %v, want the automatic %v", backendName(got), backendName(auto))
	}
	if v := os.Getenv(GemmEnv); v != "" && GemmBackend() != backendName(pickKernel(v)) {
		t.Errorf("%s=%s but the build runs %s", GemmEnv, v, GemmBackend())
	}
}
