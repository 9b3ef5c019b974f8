package bulk

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/gosiamese/gosiamese/preprocess"
)

// Format is the file format of the shards.
type Format int

const (
	// Parquet writes part-NNNNN.parquet: columns path (string) and
	// embedding (list<float32>), one row group a shard, uncompressed,
	// with the key-value metadata that Metadata describes.
	Parquet Format = iota
	// JSONL writes part-NNNNN.jsonl: one {"path": ..., "embedding":
	// [...]} object a line, float32 values printed so that they read
	// back exactly. Meant for small jobs; the metadata is in the manifest.
	JSONL
)

// String returns "parquet" or "jsonl".
func (f Format) String() string {
	switch f {
	case Parquet:
		return "parquet"
	case JSONL:
		return "jsonl"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "parquet" or "jsonl".
func ParseFormat(s string) (Format, error) {
	for _, f := range []Format{Parquet, JSONL} {
		if s == f.String() {
			return f, nil
		}
	}
	return 0, fmt.Errorf("bulk: format %q: want parquet or jsonl", s)
}

// Config configures Run. Zero fields take the defaults given.
type Config struct {
	// Dir is the output folder, created when missing (required). It
	// holds the shards, manifest.json and skipped.jsonl; a folder with a
	// manifest of the same job is resumed.
	Dir string

	// Format of the shards: Parquet (the default) or JSONL.
	Format Format

	// Search writes search vectors (siamese.Model.FoldHead: the
	// embedding with the head folded in, for a vector index under the
	// metric Model.SearchMetric names) instead of plain embeddings. They
	// are the first tower's, as every vector Run writes: with separate
	// towers (siamese.Config.SeparateTowers) they are query vectors, and
	// references come from the second tower (Model.SearchVectors).
	Search bool

	// BatchSize is the number of images a forward pass takes. Default 32.
	BatchSize int

	// ShardSize is the number of input paths a shard covers (its rows are
	// fewer when images are skipped), the unit of work a resumed job
	// keeps. Default 1024.
	ShardSize int

	// Workers is the number of goroutines that decode and preprocess
	// images. Default runtime.GOMAXPROCS(0).
	Workers int

	// Queue is the most preprocessed images waiting for the network.
	// Default 2 x BatchSize.
	Queue int

	// MaxPixels is the largest image, in pixels, decoded; a larger one is
	// skipped as too large. Default preprocess.MaxPixels.
	MaxPixels int64

	// Progress, when not nil, receives a progress bar (images done of
	// all, images/s, time left).
	Progress io.Writer
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.ShardSize == 0 {
		c.ShardSize = 1024
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Queue == 0 {
		c.Queue = 2 * c.BatchSize
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = preprocess.MaxPixels
	}
	return c
}

// Validate reports a configuration Run cannot use.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("bulk: no output folder (Config.Dir)")
	case c.Format != Parquet && c.Format != JSONL:
		return fmt.Errorf("bulk: unknown %v", c.Format)
	case c.BatchSize < 1 || c.ShardSize < 1 || c.Workers < 1 || c.Queue < 1:
		return fmt.Errorf("bulk: BatchSize %d, ShardSize %d, Workers %d and Queue %d must be at least 1", c.BatchSize, c.ShardSize, c.Workers, c.Queue)
	case c.MaxPixels < 1:
		return fmt.Errorf("bulk: MaxPixels %d must be at least 1", c.MaxPixels)
	}
	return nil
}
