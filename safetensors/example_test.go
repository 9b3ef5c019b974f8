package safetensors_test

import (
	"bytes"
	"fmt"

	"github.com/gosiamese/gosiamese/safetensors"
)

// Write two tensors to memory and read one back.
func Example() {
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Tensor{
		safetensors.F32("fc.weight", []int{2, 2}, []float32{1, 2, 3, 4}),
		safetensors.F32("fc.bias", []int{2}, []float32{0.5, -0.5}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		panic(err)
	}
	f, err := safetensors.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	w, shape, err := f.Float32("fc.weight")
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Names(), shape, w, f.Metadata["format"])
	// Output: [fc.bias fc.weight] [2 2] [1 2 3 4] pt
}
