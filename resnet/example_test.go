package resnet_test

import (
	"fmt"

	"github.com/gosiamese/gosiamese/resnet"
	"gorgonia.org/tensor"
)

// A narrow ResNet-18 (Width 8) embeds a batch of two 64x64 RGB images into
// 64 average-pooled features each; resnet.ResNet50() gives 2048.
func ExampleEncoder_Infer() {
	enc, err := resnet.New(resnet.Config{Depth: 18, Width: 8, Seed: 1})
	if err != nil {
		panic(err)
	}
	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3, 64, 64))
	out, shape, err := enc.Infer(x)
	if err != nil {
		panic(err)
	}
	fmt.Println(shape, len(out), enc.Features())
	// Output: (2, 64) 128 64
}
