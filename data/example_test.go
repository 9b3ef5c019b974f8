package data_test

import (
	"fmt"
	"image"
	"image/color"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/preprocess"
)

// From labelled images to a batch of model input: split by class, draw
// balanced pairs, augment and preprocess.
func Example() {
	// Six classes of three 16x16 images each; a real program would use
	// data.Folder, data.Omniglot or data.MNIST.
	var imgs []image.Image
	var classes []int
	for c := 0; c < 6; c++ {
		for k := 0; k < 3; k++ {
			m := image.NewGray(image.Rect(0, 0, 16, 16))
			m.SetGray(c+k, c, color.Gray{255})
			imgs = append(imgs, m)
			classes = append(classes, c)
		}
	}
	ds, err := data.NewMemory(imgs, classes, nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	train, val := data.SplitClasses(ds, 1.0/3, 1)
	fmt.Println("train images:", len(train), "validation images:", len(val))

	sampler, err := data.NewPairSampler(ds, train, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := preprocess.Config{Size: 16, Channels: 1, Norm: preprocess.UnitRange}
	batcher, err := data.NewBatcher(ds, cfg, data.KochAugment(), 0, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := uint64(0); step < 2; step++ {
		a, b, labels, err := batcher.Batch(sampler.Next(4), step)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(a.Shape(), b.Shape(), labels)
	}
	// Output:
	// train images: 12 validation images: 6
	// (4, 1, 16, 16) (4, 1, 16, 16) [1 0 1 0]
	// (4, 1, 16, 16) (4, 1, 16, 16) [1 0 1 0]
}
