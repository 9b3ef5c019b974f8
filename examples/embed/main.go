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
//
// -precision bf16 runs the encoder in bfloat16 (build tag onednn, a CPU
// with native bfloat16; see resnet.InferOptions), with or without -model,
// when printing; the shards of -out are always float32's.
//
//	go run -tags onednn ./examples/embed -precision bf16 -model run/best.safetensors a.jpg
//
// Many images go to files instead, with a Siamese model: the images of a
// folder tree (-dir), of a list file (-list, one path a line; "-" reads
// standard input) or of the command line, into shards of Parquet
// (path, embedding) or JSON lines in the folder -out, with the package
// bulk. Bad files are skipped and listed in -out/skipped.jsonl; a job that
// was stopped or killed resumes when the same command runs again.
//
//	go run ./examples/embed -model run/best.safetensors -dir photos -out emb
//	find photos -name '*.jpg' | go run ./examples/embed -model run/best.safetensors -list - -out emb -format jsonl
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/internal/modelfile"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"golang.org/x/term"
	"gorgonia.org/tensor"
)

func main() {
	// Ctrl-C or SIGTERM stops a job with -out after its running batch;
	// the same command resumes it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rc := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(rc)
}

// record is one output line.
type record struct {
	Image     string    `json:"image"`
	Embedding []float32 `json:"embedding"`
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "resnet50", "architecture: resnet18, resnet34, resnet50, resnet101 or resnet152")
	weights := fs.String("weights", "", "safetensors file with torchvision parameter names (fc.* is ignored); empty: seeded random weights, for trying the program only")
	size := fs.Int("size", 224, "input size: shorter side resized to it, then a centre crop of size x size")
	pooling := fs.String("pooling", "avg", "pooling of the last feature map: avg or max")
	batch := fs.Int("batch", 8, "images per forward pass")
	seed := fs.Uint64("seed", 1, "seed of the random weights used without -weights")
	model := fs.String("model", "", "a Siamese model file written by examples/train: print its embeddings instead (its own encoder, head and preprocessing; not with -arch, -weights, -size, -pooling or -seed)")
	dir := fs.String("dir", "", "embed the images of this folder tree (with -model and -out)")
	list := fs.String("list", "", "embed the images listed in this file, one path a line; - reads standard input (with -model and -out)")
	out := fs.String("out", "", "write the embeddings to shards in this folder instead of printing them (with -model); the same command resumes a stopped job")
	format := fs.String("format", "parquet", "format of the shards in -out: parquet or jsonl")
	search := fs.Bool("search", false, "with -out: write search vectors (the head folded in) instead of embeddings")
	shard := fs.Int("shard", 1024, "with -out: images a shard covers")
	workers := fs.Int("workers", 0, "with -out: images decoded at once; 0: one a CPU")
	precision := fs.String("precision", "fp32", "arithmetic of the encoder: fp32, or bf16 (build tag onednn, a CPU with native bfloat16); not with -out")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: embed [flags] IMAGE...\n       embed -model FILE -out DIR [-dir DIR] [-list FILE] [IMAGE...]\n\nPrints one JSON line per image: {\"image\": PATH, \"embedding\": [...]}, or with -out writes\nshards of Parquet or JSON lines.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	prec, err := resnet.ParsePrecision(*precision)
	if err != nil {
		fmt.Fprintln(stderr, "embed: -precision:", err)
		return 2
	}
	if err := resnet.PrecisionAvailable(prec); err != nil {
		fmt.Fprintln(stderr, "embed: -precision:", err)
		return 1
	}
	bulkFlags := map[string]bool{"dir": true, "list": true, "out": true, "format": true, "search": true, "shard": true, "workers": true}
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if bulkFlags[f.Name] {
			given = append(given, "-"+f.Name)
		}
	})
	if len(given) > 0 {
		if *model == "" || *out == "" {
			fmt.Fprintf(stderr, "embed: %s: wants -model and -out\n", strings.Join(given, ", "))
			return 2
		}
		if prec != resnet.FP32 {
			fmt.Fprintf(stderr, "embed: -precision %s: not with -out, whose shards and resumed jobs are float32's\n", prec)
			return 2
		}
		f, err := bulk.ParseFormat(*format)
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 2
		}
		if *shard < 1 || *workers < 0 {
			fmt.Fprintln(stderr, "embed: -shard must be at least 1 and -workers at least 0")
			return 2
		}
		cfg := bulk.Config{Dir: *out, Format: f, Search: *search, BatchSize: *batch, ShardSize: *shard, Workers: *workers}
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			cfg.Progress = stderr // a bar on a terminal, not in logs
		}
		if err := cfg.WithDefaults().Validate(); err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 2
		}
		for _, name := range []string{"model", "batch", "precision"} {
			bulkFlags[name] = true
		}
		if rc := onlyFlags(fs, bulkFlags, stderr); rc != 0 {
			return rc
		}
		return embedBulk(ctx, *model, *dir, *list, fs.Args(), cfg, stdin, stderr)
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
		if rc := onlyFlags(fs, map[string]bool{"model": true, "batch": true, "precision": true}, stderr); rc != 0 {
			return rc
		}
		return embedModel(*model, fs.Args(), *batch, prec, stdout, stderr)
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
		out, shape, err := enc.InferWith(x, resnet.InferOptions{Precision: prec})
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

// onlyFlags returns 0 when the flags given are among allowed, else 2
// after naming the others: -model's file fixes the network and its input.
func onlyFlags(fs *flag.FlagSet, allowed map[string]bool, stderr io.Writer) int {
	var other []string
	fs.Visit(func(f *flag.Flag) {
		if !allowed[f.Name] {
			other = append(other, "-"+f.Name)
		}
	})
	if len(other) > 0 {
		fmt.Fprintf(stderr, "embed: %s: not with -model, whose file fixes the network and its input\n", strings.Join(other, ", "))
		return 2
	}
	return 0
}

// embedBulk embeds the images of the folder dir, of the list file list
// ("-": stdin) and paths with the model in path into shards in cfg.Dir,
// and sums up the job on stderr.
func embedBulk(ctx context.Context, path, dir, list string, paths []string, cfg bulk.Config, stdin io.Reader, stderr io.Writer) int {
	if dir != "" {
		found, err := bulk.Folder(dir)
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		paths = append(paths, found...)
	}
	if list != "" {
		r := stdin
		if list != "-" {
			f, err := os.Open(list)
			if err != nil {
				fmt.Fprintln(stderr, "embed:", err)
				return 1
			}
			defer f.Close()
			r = f
		}
		listed, err := bulk.ReadList(r)
		if err != nil {
			fmt.Fprintln(stderr, "embed:", err)
			return 1
		}
		paths = append(paths, listed...)
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "embed: no images given (-dir, -list or paths)")
		return 2
	}
	m, err := modelfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		return 1
	}
	res, err := bulk.Run(ctx, m, paths, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "embed: the finished shards are kept: the same command resumes the job")
		}
		return 1
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stderr, "embed: skipped %s: %s\n", s.Path, s.Reason)
	}
	fmt.Fprintf(stderr, "embed: %d of %d images in %d shards in %s (%d done before), %d skipped (listed in %s)\n",
		res.Embedded, res.Inputs, len(res.Shards), cfg.Dir, res.Resumed, len(res.Skipped), bulk.SkippedName)
	return 0
}

// embedModel prints the embeddings of the Siamese model in path.
func embedModel(path string, paths []string, batch int, prec resnet.Precision, stdout, stderr io.Writer) int {
	m, err := modelfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "embed:", err)
		return 1
	}
	if err := m.SetPrecision(prec); err != nil {
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
