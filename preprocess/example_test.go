package preprocess_test

import (
	"fmt"
	"image"
	"image/color"

	"github.com/gosiamese/gosiamese/preprocess"
)

// A 2x2 image already at the target size passes through unresized; the
// output is CHW: the red plane, then green, then blue.
func ExamplePixels() {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 255, 0, 255})
	img.SetNRGBA(0, 1, color.NRGBA{0, 0, 255, 255})
	img.SetNRGBA(1, 1, color.NRGBA{255, 255, 255, 255})

	for _, norm := range []preprocess.Normalization{preprocess.UnitRange, preprocess.ImageNet} {
		x, err := preprocess.Pixels(img, preprocess.Config{Size: 2, Norm: norm})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-8s R %5.2f\n", norm, x[0:4])
		fmt.Printf("%-8s G %5.2f\n", norm, x[4:8])
		fmt.Printf("%-8s B %5.2f\n", norm, x[8:12])
	}

	_, err := preprocess.Pixels(img, preprocess.Config{Size: 0})
	fmt.Println(err)
	// Output:
	// unit     R [ 1.00  0.00  0.00  1.00]
	// unit     G [ 0.00  1.00  0.00  1.00]
	// unit     B [ 0.00  0.00  1.00  1.00]
	// imagenet R [ 2.25 -2.12 -2.12  2.25]
	// imagenet G [-2.04  2.43 -2.04  2.43]
	// imagenet B [-1.80 -1.80  2.64  2.64]
	// preprocess: size must be > 0, got 0
}

// Batch stacks several images of any size into one (N, C, Size, Size)
// slice.
func ExampleBatch() {
	imgs := []image.Image{
		image.NewGray(image.Rect(0, 0, 640, 480)),
		image.NewRGBA(image.Rect(0, 0, 300, 500)),
	}
	x, err := preprocess.Batch(imgs, preprocess.Config{Size: 224, Norm: preprocess.Caffe})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(x) == 2*3*224*224)
	// Output:
	// true
}
