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
//
//	go run ./examples/embed -model run/best.safetensors a.jpg b.png
//
// prints instead the embeddings of a Siamese model written by
// examples/train (one tower's output, with the model's own preprocessing).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"strings"

	"github.com/gosiamese/gosiamese/internal/modelfile"
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
	model := fs.String("model", "", "a Siamese model file written by examples/train: print its embeddings instead (its own encoder, head and preprocessing; not with -arch, -weights, -size, -pooling or -seed)")
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
	if *model != "" {
		var other []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "model" && f.Name != "batch" {
				other = append(other, "-"+f.Name)
			}
		})
		if len(other) > 0 {
			fmt.Fprintf(stderr, "embed: %s: not with -model, whose file fixes the network and its input\n", strings.Join(other, ", "))
			return 2
		}
		return embedModel(*model, fs.Args(), *batch, stdout, stderr)
	}
	if *weights != "" {
		if err := modelfile.CheckWeights(*weights); err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
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
	return embedAll(fs.Args(), *batch, stdout, stderr, func(imgs []image.Image) ([][]float32, error) {
		pix, err := preprocess.Batch(imgs, pre)
		if err != nil {
			return nil, err
		}
		x := tensor.New(tensor.WithShape(len(imgs), pre.Channels, pre.Size, pre.Size), tensor.WithBacking(pix))
		out, shape, err := enc.Infer(x)
		if err != nil {
			return nil, err
		}
		f := shape[1]
		es := make([][]float32, len(imgs))
		for i := range es {
			es[i] = out[i*f : (i+1)*f]
		}
		return es, nil
	})
}

// embedModel prints the embeddings of the Siamese model in path.
func embedModel(path string, paths []string, batch int, stdout, stderr io.Writer) int {
	m, err := modelfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		return 1
	}
	return embedAll(paths, batch, stdout, stderr, func(imgs []image.Image) ([][]float32, error) {
		es, err := m.EmbedBatch(imgs)
		out := make([][]float32, len(es))
		for i, e := range es {
			out[i] = e
		}
		return out, err
	})
}

// embedAll loads the images a batch at a time, embeds each batch with
// embed and prints one line per image.
func embedAll(paths []string, batch int, stdout, stderr io.Writer, embed func([]image.Image) ([][]float32, error)) int {
	enc := json.NewEncoder(stdout)
	for start := 0; start < len(paths); start += batch {
		chunk := paths[start:min(start+batch, len(paths))]
		imgs := make([]image.Image, len(chunk))
		for i, p := range chunk {
			var err error
			if imgs[i], err = preprocess.Load(p); err != nil {
				fmt.Fprintln(stderr, "embed:", err)
				return 1
			}
		}
		es, err := embed(imgs)
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		for i, p := range chunk {
			if err := enc.Encode(record{Image: p, Embedding: es[i]}); err != nil {
				fmt.Fprintln(stderr, "embed:", err)
				return 1
			}
		}
	}
	return 0
}
