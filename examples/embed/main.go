// Command embed prints ResNet embeddings of images, one JSON object per
// line: {"image": PATH, "embedding": [...]}, the globally average-pooled
// features of the last stage (2048 values for ResNet-50, 512 for ResNet-18).
//
// Preprocessing is torchvision's eval transform: RGB in [0,1], ImageNet mean
// and std, shorter side resized to -size and a centre crop; an image already
// -size x -size is used as it is.
//
//	go run ./examples/embed -arch resnet50 -weights resnet50.safetensors -size 224 a.jpg b.png
//
// Without -weights the encoder keeps its seeded random initialisation, which
// is only good for trying the program out.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"gorgonia.org/tensor"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// record is one output line.
type record struct {
	Image     string    `json:"image"`
	Embedding []float32 `json:"embedding"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "resnet50", "architecture: resnet18, resnet34, resnet50, resnet101 or resnet152")
	weights := fs.String("weights", "", "safetensors file with torchvision parameter names (fc.* is ignored); empty: seeded random weights, for trying the program only")
	size := fs.Int("size", 224, "input size: shorter side resized to it, then a centre crop of size x size")
	pooling := fs.String("pooling", "avg", "pooling of the last feature map: avg or max")
	batch := fs.Int("batch", 8, "images per forward pass")
	seed := fs.Uint64("seed", 1, "seed of the random weights used without -weights")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: embed [flags] IMAGE...\n\nPrints one JSON line per image: {\"image\": PATH, \"embedding\": [...]}.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "embed: no images given")
		fs.Usage()
		return 2
	}
	if *batch < 1 || *size < 32 {
		fmt.Fprintln(stderr, "embed: -batch must be at least 1 and -size at least 32")
		return 2
	}
	cfg, err := resnet.ParseArch(*arch)
	if err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		return 2
	}
	if cfg.Pooling, err = resnet.ParsePooling(*pooling); err != nil || cfg.Pooling == resnet.PoolNone {
		fmt.Fprintf(stderr, "embed: -pooling %q: want avg or max\n", *pooling)
		return 2
	}
	cfg.Seed = *seed
	enc, err := resnet.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		return 1
	}
	if *weights != "" {
		if err := enc.LoadFile(*weights); err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
	} else {
		fmt.Fprintln(stderr, "embed: no -weights given: using random weights, the embeddings mean nothing")
	}
	pre := preprocess.Config{Size: *size, Norm: preprocess.ImageNet}.WithDefaults()
	enc2 := json.NewEncoder(stdout)
	paths := fs.Args()
	for start := 0; start < len(paths); start += *batch {
		chunk := paths[start:min(start+*batch, len(paths))]
		imgs := make([]image.Image, len(chunk))
		for i, p := range chunk {
			if imgs[i], err = preprocess.Load(p); err != nil {
				fmt.Fprintln(stderr, "embed:", err)
				return 1
			}
		}
		pix, err := preprocess.Batch(imgs, pre)
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		x := tensor.New(tensor.WithShape(len(imgs), pre.Channels, pre.Size, pre.Size), tensor.WithBacking(pix))
		out, shape, err := enc.Infer(x)
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		f := shape[1]
		for i, p := range chunk {
			if err := enc2.Encode(record{Image: p, Embedding: out[i*f : (i+1)*f]}); err != nil {
				fmt.Fprintln(stderr, "embed:", err)
				return 1
			}
		}
	}
	return 0
}
