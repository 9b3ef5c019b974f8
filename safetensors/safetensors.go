package safetensors

import (
	"fmt"
	"math"
)

// MaxHeaderSize is the largest header length, in bytes, that [Open] and
// [NewReader] accept and that [Write] will produce.
const MaxHeaderSize = 100 << 20

// DType names the element type of a tensor, spelled as in the safetensors
// header: "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8" or
// "BOOL". Any other value is unknown to this package.
type DType string

// The element types understood by this package. They are unexported because
// the name F32 is taken by the [F32] constructor; write DType("F32") etc.
const (
	dtF64  DType = "F64"  // IEEE 754 binary64
	dtF32  DType = "F32"  // IEEE 754 binary32
	dtF16  DType = "F16"  // IEEE 754 binary16
	dtBF16 DType = "BF16" // bfloat16 (upper half of a binary32)
	dtI64  DType = "I64"  // signed 64-bit integer
	dtI32  DType = "I32"  // signed 32-bit integer
	dtI16  DType = "I16"  // signed 16-bit integer
	dtI8   DType = "I8"   // signed 8-bit integer
	dtU8   DType = "U8"   // unsigned 8-bit integer
	dtBOOL DType = "BOOL" // boolean, one byte per element
)

// Size returns the size in bytes of one element of type d, or 0 if d is not
// a dtype known to this package.
func (d DType) Size() int {
	switch d {
	case dtF64, dtI64:
		return 8
	case dtF32, dtI32:
		return 4
	case dtF16, dtBF16, dtI16:
		return 2
	case dtI8, dtU8, dtBOOL:
		return 1
	}
	return 0
}

// TensorInfo describes one tensor stored in a [File].
type TensorInfo struct {
	// Name is the tensor's key in the header.
	Name string
	// DType is the element type.
	DType DType
	// Shape lists the dimensions, outermost first; empty for a scalar.
	Shape []int
	// Begin and End are the tensor's byte offsets, [Begin, End), relative
	// to the start of the data buffer (which follows the header).
	Begin, End int64
}

// NumElements returns the number of elements implied by t.Shape (1 for a
// scalar). Shapes of tensors returned by a [File] are validated, so the
// result never overflows for them; for an arbitrary shape whose product
// does not fit in an int64, or which has a negative dimension, it returns -1.
func (t TensorInfo) NumElements() int64 {
	n, err := numElements(t.Shape)
	if err != nil {
		return -1
	}
	return n
}

// numElements computes the product of shape with overflow checking. A
// negative dimension is an error; a zero dimension makes the product zero
// however large the other dimensions are.
func numElements(shape []int) (int64, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := int64(1)
	for _, d := range shape {
		if int64(d) > math.MaxInt64/n {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, int64(math.MaxInt64))
		}
		n *= int64(d)
	}
	return n, nil
}

// byteSize returns numElements(shape)*dt.Size() with overflow checking.
func byteSize(shape []int, dt DType) (count, size int64, err error) {
	es := int64(dt.Size())
	if es == 0 {
		return 0, 0, fmt.Errorf("unknown dtype %q", string(dt))
	}
	count, err = numElements(shape)
	if err != nil {
		return 0, 0, err
	}
	if count > math.MaxInt64/es {
		return 0, 0, fmt.Errorf("shape %v of %s is more than %d bytes", shape, dt, int64(math.MaxInt64))
	}
	return count, count * es, nil
}
