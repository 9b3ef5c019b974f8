// Command index builds an approximate nearest-neighbour index file (package
// index) from the output folder of examples/embed -out, for
// examples/compare -index and examples/serve -index:
//
//	go run ./examples/embed -model run/best.safetensors -dir refs -out emb -search
//	go run ./examples/index -in emb -out refs.index
//
// Search vectors (embed -search) are used as they are; plain embeddings
// need the model that wrote them (-model), which folds its head into them.
// With -model the folder must have been written by that model. The file is
// written atomically: an existing one is replaced only once the new one is
// whole.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/internal/modelfile"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "output folder of examples/embed -out (required)")
	out := fs.String("out", "", "index file to write (required)")
	modelPath := fs.String("model", "", "the model that embedded the folder: needed for plain embeddings, checked when given")
	var cfg index.Config
	fs.IntVar(&cfg.Lists, "lists", 0, "inverted lists (0: the square root of the number of vectors)")
	fs.IntVar(&cfg.Probe, "probe", 0, "lists a search scans, saved in the file (0: lists/8 rounded up)")
	fs.IntVar(&cfg.Iterations, "iterations", 0, "k-means iterations (0: 10)")
	seed := fs.Uint64("seed", 0, "seed of k-means")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: index -in EMBED_OUT -out FILE [-model M] [flags]\n\nBuilds an index of the vectors examples/embed wrote, for compare -index and serve -index.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *in == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "index: need -in and -out, and no arguments")
		fs.Usage()
		return 2
	}
	if cfg.Lists < 0 || cfg.Probe < 0 || cfg.Iterations < 0 {
		fmt.Fprintln(stderr, "index: -lists, -probe and -iterations must not be negative")
		return 2
	}
	cfg.Seed = *seed
	var m *siamese.Model
	if *modelPath != "" {
		var err error
		if m, err = modelfile.Load(*modelPath); err != nil {
			fmt.Fprintln(stderr, "index:", err)
			return 1
		}
	}
	start := time.Now()
	ix, err := index.FromBulk(*in, m, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := ix.Save(*out); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d vectors of %d, metric %s, %d lists, %d probed, in %s\n",
		*out, ix.Len(), ix.Dim(), ix.Metric(), ix.Lists(), ix.Probe(), time.Since(start).Round(time.Millisecond))
	return 0
}
