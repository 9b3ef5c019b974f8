// Command embed embeds the images of a file pattern with a Siamese model
// on Apache Beam, into sharded Parquet files (package pipeline):
//
//	go run ./cmd/embed --input 'photos/*/*.jpg' --model best.safetensors --output emb
//
// runs on Beam's local runner, prism, in this process. --runner picks
// another (dataflow, flink, spark, universal), with that runner's own
// flags; the README's "Many machines: Apache Beam" says what each needs.
// Every path may be local or on a Beam filesystem (gs://).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/gosiamese/gosiamese/beam/pipeline"
	"github.com/gosiamese/gosiamese/internal/gcpace"
)

var (
	input     = flag.String("input", "", "file pattern of the images, a glob: 'photos/*/*.jpg', 'gs://bucket/photos/*.png' (required)")
	model     = flag.String("model", "", "model file, local or gs:// (required)")
	output    = flag.String("output", "", "output folder, local or gs:// (required)")
	search    = flag.Bool("search", false, "write search vectors (the head folded in) instead of embeddings")
	batchSize = flag.Int("batch_size", 0, "images a forward pass takes (default 32)")
	shardSize = flag.Int("shard_size", 0, "about the number of images a shard holds (default 1024)")
)

func main() {
	// The collector's pace of the library's programs (GOGC=25 unless the
	// environment sets GOGC), on the workers too: they run this main.
	gcpace.Set()
	flag.Parse()
	// On a worker, Init runs the worker and does not return.
	beam.Init()
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, s := beam.NewPipelineWithRoot()
	_, err := pipeline.Build(s, pipeline.Config{
		Input: *input, Model: *model, Output: *output, Search: *search,
		BatchSize: *batchSize, ShardSize: *shardSize,
	})
	if err != nil {
		return err
	}
	return beamx.Run(ctx, p)
}
