package resnet

import (
	"testing"

	"gorgonia.org/tensor"
)

// TestOutputSize compares OutputSize with the length of what the encoder
// gives, pooled and not, for sizes that divide by 32 and sizes that round.
func TestOutputSize(t *testing.T) {
	for _, pool := range []Pooling{PoolAvg, PoolNone} {
		c := Config{Depth: 18, Width: 4, Pooling: pool, Seed: 1}
		enc, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{32, 33, 47, 64, 65} {
			x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, 3, size, size))
			out, _, err := enc.Infer(x)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.OutputSize(size); got != len(out) {
				t.Errorf("%v pooling, %dx%d: OutputSize %d, the encoder gives %d values", pool, size, size, got, len(out))
			}
		}
	}
}
