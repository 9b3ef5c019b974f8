package resnet

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePrecision(t *testing.T) {
	for _, p := range []Precision{FP32, BF16} {
		got, err := ParsePrecision(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePrecision(%q) = %v, %v", p.String(), got, err)
		}
	}
	for _, s := range []string{"", "f32", "BF16", "int8"} {
		if _, err := ParsePrecision(s); err == nil || !strings.HasPrefix(err.Error(), "resnet: ") {
			t.Errorf("ParsePrecision(%q): error %v", s, err)
		}
	}
	if err := (InferOptions{}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
	if err := (InferOptions{Precision: 2}).Validate(); err == nil {
		t.Error("Precision(2): no error")
	}
	if err := PrecisionAvailable(FP32); err != nil {
		t.Errorf("FP32: %v", err)
	}
}

// TestPrecisionFP32IsInfer: InferWith at FP32 is Infer, bit for bit.
func TestPrecisionFP32IsInfer(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	fillDeterministic(e)
	x := detTensor("precision_fp32", -2, 2, 2, 3, 32, 32)
	want, _, err := e.Infer(x)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := e.InferWith(x, InferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output %d: %g, Infer %g", i, got[i], want[i])
		}
	}
}

// TestBF16Unavailable: where bf16 cannot run (every build without the
// onednn tag, or a CPU without native bfloat16), asking for it is an
// error wrapping ErrPrecisionUnavailable that says what is missing, never
// a silent float32 run.
func TestBF16Unavailable(t *testing.T) {
	avail := PrecisionAvailable(BF16)
	if avail == nil {
		t.Skip("skipped: bf16 runs here (TestInferBF16MatchesFP32 covers it)")
	}
	if !errors.Is(avail, ErrPrecisionUnavailable) {
		t.Fatalf("PrecisionAvailable(BF16): %v, not wrapping ErrPrecisionUnavailable", avail)
	}
	if !strings.Contains(avail.Error(), "onednn") && !strings.Contains(avail.Error(), "bfloat16") {
		t.Errorf("error %q names neither the onednn build tag nor the CPU's lack of bfloat16", avail)
	}
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := e.InferWith(detTensor("precision_bf16", -2, 2, 1, 3, 32, 32), InferOptions{Precision: BF16})
	if !errors.Is(err, ErrPrecisionUnavailable) || out != nil {
		t.Errorf("InferWith(BF16): %d outputs, error %v", len(out), err)
	}
	t.Logf("as expected: %v", err)
}
