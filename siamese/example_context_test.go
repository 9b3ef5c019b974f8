package siamese_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
)

// The Context variants stop between batches of the network once their
// context ends, for example when the client of a request has gone away.
func ExampleModel_EmbedBatchContext() {
	m := smallModel()
	imgs := make([]image.Image, 40)
	for i := range imgs {
		imgs[i] = square(color.NRGBA{uint8(6 * i), 30, 30, 255})
	}
	ctx, cancel := context.WithCancel(context.Background())
	es, err := m.EmbedBatchContext(ctx, imgs)
	fmt.Println(len(es), err)

	cancel() // the client went away
	_, err = m.EmbedBatchContext(ctx, imgs)
	fmt.Println(errors.Is(err, context.Canceled))
	fmt.Println(err)
	// Output:
	// 40 <nil>
	// true
	// siamese: stopped after 0 of 40 images: context canceled
}
