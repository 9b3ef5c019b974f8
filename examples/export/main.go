// Command export writes a Siamese model file (from examples/train) as
// ONNX, for ONNX Runtime, Triton or any other ONNX runtime:
//
//	go run ./examples/export -model run/best.safetensors -out model.onnx
//	go run ./examples/export -model run/best.safetensors -out encoder.onnx -encoder
//	go run ./examples/export -model run/best.safetensors -out search.onnx -search
//
// The whole model takes image_a and image_b, float32 (N, C, S, S), and
// gives score and logit, float32 (N, 1); -encoder writes one tower, image
// (N, C, S, S) to embedding (N, F); -search writes the tower's search
// vectors instead of its embeddings, for an external vector store under
// the metric the program prints. Inputs are images already preprocessed as
// the model's configuration says (printed too, and kept in the file's
// metadata). N is dynamic. See package onnx.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gosiamese/gosiamese/internal/modelfile"
	"github.com/gosiamese/gosiamese/onnx"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "the Siamese model file to export (written by examples/train)")
	out := fs.String("out", "", "the ONNX file to write")
	encoder := fs.Bool("encoder", false, "write one tower (image -> embedding) instead of the whole model (image_a, image_b -> score, logit)")
	search := fs.Bool("search", false, "write one tower's search vectors (image -> embedding with the head's weights folded in), for a vector store")
	tower := fs.String("tower", "first", "with -encoder or -search: first, or second (the references' tower, when the model's towers are separate)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: export -model MODEL.safetensors -out FILE.onnx [-encoder | -search] [-tower first|second]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *model == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "export: -model and -out are required, and nothing else")
		fs.Usage()
		return 2
	}
	opts := onnx.Options{SearchVectors: *search}
	switch *tower {
	case "first":
	case "second":
		opts.Tower = siamese.Second
	default:
		fmt.Fprintf(stderr, "export: -tower %q: want first or second\n", *tower)
		return 2
	}
	one := *encoder || *search
	if opts.Tower == siamese.Second && !one {
		fmt.Fprintln(stderr, "export: -tower second needs -encoder or -search (the whole model holds both towers)")
		return 2
	}
	m, err := modelfile.Load(*model)
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 1
	}
	var buf bytes.Buffer
	export := onnx.ExportModel
	if one {
		export = onnx.ExportEncoder
	}
	if err := export(&buf, m, opts); err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 1
	}
	if err := writeFile(*out, buf.Bytes()); err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 1
	}
	cfg := m.Config()
	in := fmt.Sprintf("(N, %d, %d, %d)", cfg.Input.Channels, cfg.Input.Size, cfg.Input.Size)
	switch {
	case *search:
		fmt.Fprintf(stdout, "%s: %s %s -> %s (N, %d) search vectors, metric %s\n", *out, onnx.Image, in, onnx.EmbeddingOutput, cfg.EmbeddingSize(), m.SearchMetric())
	case one:
		fmt.Fprintf(stdout, "%s: %s %s -> %s (N, %d)\n", *out, onnx.Image, in, onnx.EmbeddingOutput, cfg.EmbeddingSize())
	default:
		fmt.Fprintf(stdout, "%s: %s, %s %s -> %s, %s (N, 1)\n", *out, onnx.ImageA, onnx.ImageB, in, onnx.Score, onnx.Logit)
	}
	pre, err := json.Marshal(cfg.Input)
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 1
	}
	fmt.Fprintf(stdout, "opset %d, %d bytes; inputs preprocessed as %s\n", onnx.Opset, buf.Len(), pre)
	return 0
}

// writeFile writes b to path through path+".tmp", renamed once
// complete, so that a failed write leaves no partial file under path.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	err := os.WriteFile(tmp, b, 0o644)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
