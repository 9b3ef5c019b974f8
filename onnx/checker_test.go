package onnx

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// skipWithout skips the test, saying what is missing, or fails it when
// GOSIAMESE_REQUIRE_ONNX is set (CI sets it), so that a missing tool
// cannot leave a check unrun.
func skipWithout(t *testing.T, missing string) {
	t.Helper()
	if os.Getenv("GOSIAMESE_REQUIRE_ONNX") != "" {
		t.Fatalf("GOSIAMESE_REQUIRE_ONNX is set but %s", missing)
	}
	t.Skipf("skipped: %s", missing)
}

// TestONNXChecker runs ONNX's own checker (Debian's python3-onnx, ONNX
// 1.12) with full_check and strict shape inference on every kind of file,
// and checks the output shapes it infers.
func TestONNXChecker(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx.checker").Run(); err != nil {
		skipWithout(t, "/usr/bin/python3 cannot import onnx (apt-get install python3-onnx)")
	}
	dir := t.TempDir()
	var paths, want []string
	for _, c := range []struct {
		name string
		edit func(*siamese.Config)
	}{
		{"l1", nil},
		{"l2-bottleneck-flatten", func(c *siamese.Config) {
			c.Distance, c.Encoder = siamese.L2, resnet.Config{Depth: 50, Width: 4, Pooling: resnet.PoolNone}
		}},
		{"cosine-separate-grey", func(c *siamese.Config) {
			c.Distance, c.SeparateTowers, c.Input.Channels = siamese.Cosine, true, 1
		}},
	} {
		m := tinyModel(t, c.edit)
		for _, k := range []struct {
			kind, out string
			export    func(*bytes.Buffer) error
		}{
			{"model", "score[N,1] logit[N,1]", func(b *bytes.Buffer) error { return ExportModel(b, m, Options{}) }},
			{"encoder", "embedding[N,16]", func(b *bytes.Buffer) error { return ExportEncoder(b, m, Options{Tower: siamese.Second}) }},
			{"search", "embedding[N,16]", func(b *bytes.Buffer) error { return ExportEncoder(b, m, Options{SearchVectors: true}) }},
		} {
			var buf bytes.Buffer
			if err := k.export(&buf); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fmt.Sprintf("%s-%s.onnx", c.name, k.kind))
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			paths, want = append(paths, p), append(want, p+" "+k.out)
		}
	}
	cmd := exec.Command("/usr/bin/python3", append([]string{filepath.Join("testdata", "onnx_check.py")}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the ONNX checker refuses a file: %v: %s", err, stderr.Bytes())
	}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the checker infers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
