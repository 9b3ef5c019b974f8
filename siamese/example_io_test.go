package siamese_test

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"testing/fstest"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// smallModel is a narrow ResNet-18 on 32x32 input, quick to build and run.
func smallModel() *siamese.Model {
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{16},
		Input:   preprocess.Config{Size: 32},
		Seed:    1,
	})
	if err != nil {
		panic(err)
	}
	return m
}

// A model goes to any io.Writer and comes back from an io.ReaderAt (here
// bytes in memory), scoring exactly as before.
func ExampleModel_WriteTo() {
	m := smallModel()
	if err := m.SetThreshold(0.7); err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		panic(err)
	}
	l, err := siamese.LoadReaderAt(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	a, b := square(color.NRGBA{200, 30, 30, 255}), square(color.NRGBA{30, 30, 200, 255})
	before, _ := m.Compare(a, b)
	after, _ := l.Compare(a, b)
	fmt.Println("threshold:", l.Threshold())
	fmt.Println("same score:", before == after)
	// Output:
	// threshold: 0.7
	// same score: true
}

// LoadFS reads a model from any fs.FS: an embed.FS compiled into the
// program (//go:embed models/small.safetensors), an os.DirFS, or, here, an
// fstest.MapFS.
func ExampleLoadFS() {
	var buf bytes.Buffer
	if _, err := smallModel().WriteTo(&buf); err != nil {
		panic(err)
	}
	fsys := fstest.MapFS{"models/small.safetensors": {Data: buf.Bytes()}}
	h, err := siamese.ReadHeaderFS(fsys, "models/small.safetensors")
	if err != nil {
		panic(err)
	}
	fmt.Println("depth:", h.Config.Encoder.Depth, "input:", h.Config.Input.Size)
	m, err := siamese.LoadFS(fsys, "models/small.safetensors")
	if err != nil {
		panic(err)
	}
	e, _ := m.Embed(square(color.NRGBA{30, 200, 30, 255}))
	fmt.Println("embedding size:", len(e))
	// Output:
	// depth: 18 input: 32
	// embedding size: 16
}

// errors.Is tells a bad image from a bad model file, and each kind from
// the others, for example to answer a request with the right status.
func Example_errors() {
	var img bytes.Buffer
	if err := png.Encode(&img, square(color.NRGBA{200, 30, 30, 255})); err != nil {
		panic(err)
	}
	kind := func(err error) string {
		switch {
		case err == nil:
			return "fine"
		case errors.Is(err, preprocess.ErrTooLarge):
			return "image too large"
		case errors.Is(err, preprocess.ErrUnknownFormat):
			return "not an image"
		case errors.Is(err, preprocess.ErrCorrupt):
			return "damaged image"
		case errors.Is(err, siamese.ErrNotModel):
			return "not a model"
		case errors.Is(err, siamese.ErrDamaged):
			return "damaged model"
		}
		return "other: " + err.Error()
	}
	_, err := preprocess.Decode(bytes.NewReader(img.Bytes()))
	fmt.Println("png:", kind(err))
	_, err = preprocess.Decode(bytes.NewReader(img.Bytes()[:img.Len()/2]))
	fmt.Println("half a png:", kind(err))
	_, err = preprocess.Decode(bytes.NewReader([]byte("hello")))
	fmt.Println("text as an image:", kind(err))
	_, err = preprocess.DecodeLimit(bytes.NewReader(img.Bytes()), 1000)
	fmt.Println("png over 1000 pixels:", kind(err))

	notes := []byte("these are my notes, not a model\n")
	_, err = siamese.LoadReaderAt(bytes.NewReader(notes), int64(len(notes)))
	fmt.Println("text as a model:", kind(err))
	var model bytes.Buffer
	if _, err := smallModel().WriteTo(&model); err != nil {
		panic(err)
	}
	cut := model.Bytes()[:model.Len()/2]
	_, err = siamese.LoadReaderAt(bytes.NewReader(cut), int64(len(cut)))
	fmt.Println("half a model:", kind(err))
	// Output:
	// png: fine
	// half a png: damaged image
	// text as an image: not an image
	// png over 1000 pixels: image too large
	// text as a model: not a model
	// half a model: damaged model
}
