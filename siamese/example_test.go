package siamese_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"slices"
	"sync"
	"time"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// A small model (a narrow ResNet-18, 32x32 input) scores two pairs. An
// untrained model scores every pair near 0.5; an image against itself
// always gets the highest score the model can give.
func Example() {
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{32, 16},
		Input:   preprocess.Config{Size: 32},
		Seed:    1,
	})
	if err != nil {
		panic(err)
	}
	a := square(color.NRGBA{200, 30, 30, 255})
	b := square(color.NRGBA{30, 30, 200, 255})
	self, _ := m.Compare(a, a)
	other, _ := m.Compare(a, b)
	fmt.Printf("a vs a: %.2f, same: %v\n", self, m.Same(self))
	fmt.Printf("a vs b: %.2f, lower: %v\n", other, other < self)
	// Output:
	// a vs a: 0.50, same: true
	// a vs b: 0.50, lower: true
}

// square draws a filled square on white.
func square(c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			if x > 12 && x < 36 && y > 12 && y < 36 {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

// A Batcher serves many goroutines at once: their images share forward
// passes, and each gets the embedding the model gives it alone.
func ExampleModel_NewBatcher() {
	m := smallModel()
	b, err := m.NewBatcher(siamese.BatcherConfig{MaxWait: 5 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	colours := []color.NRGBA{{200, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 200, 255}, {90, 90, 90, 255}}
	same := make([]bool, len(colours))
	var wg sync.WaitGroup
	for i, c := range colours {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img := square(c)
			e, err := b.Embed(context.Background(), img)
			alone, err2 := m.Embed(img)
			same[i] = err == nil && err2 == nil && slices.Equal(e, alone)
		}()
	}
	wg.Wait()
	fmt.Println(same)
	// Output:
	// [true true true true]
}
