package resnet

import (
	"errors"
	"fmt"

	"gorgonia.org/tensor"
)

// Precision is the arithmetic InferWith runs the encoder in.
type Precision int

const (
	// FP32 is float32 throughout: the default, and what Infer runs.
	FP32 Precision = iota
	// BF16 runs the convolutions on bfloat16 activations and weights with
	// float32 accumulation, and returns float32 outputs: faster on CPUs
	// with native bfloat16 (AVX-512 BF16, AMX), less exact (the embedding
	// error against FP32 is stated in the README). It needs the onednn
	// build tag and such a CPU (PrecisionAvailable), and an encoder
	// without a classifier top or dilation.
	BF16
)

func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// ParsePrecision reads "fp32" or "bf16".
func ParsePrecision(s string) (Precision, error) {
	for _, p := range []Precision{FP32, BF16} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("resnet: unknown precision %q (want fp32 or bf16)", s)
}

// ErrPrecisionUnavailable is wrapped by the errors of PrecisionAvailable
// and InferWith when this build or this CPU cannot run a precision: BF16
// without the onednn build tag, or on a CPU without native bfloat16. It is
// never met silently: nothing falls back to FP32.
var ErrPrecisionUnavailable = errors.New("resnet: precision unavailable")

// InferOptions are InferWith's settings. The zero value is Infer's.
type InferOptions struct {
	// Precision of the arithmetic; default FP32.
	Precision Precision
}

// Validate reports what is wrong with o, or nil. It does not ask whether
// the precision runs here: see PrecisionAvailable.
func (o InferOptions) Validate() error {
	if o.Precision != FP32 && o.Precision != BF16 {
		return fmt.Errorf("resnet: unknown %v (want FP32 or BF16)", o.Precision)
	}
	return nil
}

// PrecisionAvailable returns nil when InferWith can run precision p in this
// build on this CPU, else an error wrapping ErrPrecisionUnavailable that
// says what is missing. FP32 is always available. BF16 needs the onednn
// build tag and a CPU that oneDNN finds native bfloat16 instructions on
// (its effective ISA avx512_core_bf16 or AMX).
func PrecisionAvailable(p Precision) error {
	if err := (InferOptions{Precision: p}).Validate(); err != nil {
		return err
	}
	if p == FP32 {
		return nil
	}
	return precisionAvailable(p)
}

// InferWith is Infer with options: Infer(x) is InferWith(x, InferOptions{}).
// An FP32 call is Infer's. A BF16 call runs the encoder in oneDNN in
// bfloat16 (the parameters converted at every call, so that it sees
// training's updates as Infer does), or returns an error: an encoder
// with a classifier top or a dilated convolution, a build without the
// onednn tag or a CPU without native bfloat16 (ErrPrecisionUnavailable).
func (e *Encoder) InferWith(x *tensor.Dense, o InferOptions) ([]float32, tensor.Shape, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	if o.Precision == FP32 {
		return e.Infer(x)
	}
	if err := precisionAvailable(o.Precision); err != nil {
		return nil, nil, err
	}
	if x == nil || x.Dtype() != tensor.Float32 || x.Dims() != 4 {
		return nil, nil, fmt.Errorf("resnet: Infer wants a float32 (N, C, H, W) tensor")
	}
	y, s, ok, err := e.inferOneDNN(x, o.Precision)
	if !ok {
		return nil, nil, fmt.Errorf("resnet: %v inference runs encoders without a classifier top or dilated convolutions", o.Precision)
	}
	return y, s, err
}
