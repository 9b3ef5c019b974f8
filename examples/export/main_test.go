package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/onnx"
	"github.com/gosiamese/gosiamese/siamese"
)

// TestExportWritesWhatThePackageWrites runs the program in each mode and
// checks the file is, byte for byte, what package onnx writes for the
// loaded model, and that the summary names the inputs and outputs.
func TestExportWritesWhatThePackageWrites(t *testing.T) {
	dir := t.TempDir()
	path := modeltest.Siamese(t, dir, 7)
	m, err := siamese.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags  []string
		export func(*bytes.Buffer) error
		say    string
	}{
		{nil, func(b *bytes.Buffer) error { return onnx.ExportModel(b, m, onnx.Options{}) },
			"image_a, image_b (N, 3, 32, 32) -> score, logit (N, 1)"},
		{[]string{"-encoder"}, func(b *bytes.Buffer) error { return onnx.ExportEncoder(b, m, onnx.Options{}) },
			"image (N, 3, 32, 32) -> embedding (N, 16)\n"},
		{[]string{"-search", "-tower", "second"}, func(b *bytes.Buffer) error {
			return onnx.ExportEncoder(b, m, onnx.Options{SearchVectors: true, Tower: siamese.Second})
		}, "image (N, 3, 32, 32) -> embedding (N, 16) search vectors, metric l1"},
	} {
		out := filepath.Join(dir, "out.onnx")
		var stdout, stderr bytes.Buffer
		if rc := run(append([]string{"-model", path, "-out", out}, tc.flags...), &stdout, &stderr); rc != 0 {
			t.Fatalf("%v: exit status %d: %s", tc.flags, rc, stderr.String())
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := tc.export(&want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%v: the file (%d bytes) is not what package onnx writes (%d bytes)", tc.flags, len(got), want.Len())
		}
		if !strings.Contains(stdout.String(), tc.say) || !strings.Contains(stdout.String(), `"Size":32`) {
			t.Errorf("%v: printed %q, want %q and the preprocessing", tc.flags, stdout.String(), tc.say)
		}
		if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
			t.Errorf("%v: the temporary file is left: %v", tc.flags, err)
		}
	}
}

func TestExportRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	path := modeltest.Siamese(t, dir, 7)
	out := filepath.Join(dir, "out.onnx")
	for _, tc := range []struct {
		args []string
		rc   int
		say  string
	}{
		{[]string{"-out", out}, 2, "-model and -out are required"},
		{[]string{"-model", path}, 2, "-model and -out are required"},
		{[]string{"-model", path, "-out", out, "extra"}, 2, "nothing else"},
		{[]string{"-model", path, "-out", out, "-encoder", "-tower", "third"}, 2, `-tower "third"`},
		{[]string{"-model", path, "-out", out, "-tower", "second"}, 2, "needs -encoder or -search"},
		{[]string{"-model", filepath.Join(dir, "missing.safetensors"), "-out", out}, 1, "missing.safetensors"},
		{[]string{"-model", path, "-out", filepath.Join(dir, "no", "such", "dir.onnx")}, 1, "no such file"},
	} {
		var stdout, stderr bytes.Buffer
		if rc := run(tc.args, &stdout, &stderr); rc != tc.rc || !strings.Contains(stderr.String(), tc.say) {
			t.Errorf("%v: exit status %d, %q; want %d and %q", tc.args, rc, stderr.String(), tc.rc, tc.say)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused export wrote %s: %v", out, err)
	}
}
