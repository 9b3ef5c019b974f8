package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/preprocess"

	// The filesystems a pattern, the model and the output may name.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
)

// Names of the files in the output folder besides the shards.
const (
	// SkippedName lists the images left out, one JSON object a line
	// (bulk.Skipped: path, reason, error), sorted by path.
	SkippedName = "skipped.jsonl"
	// ShardsName is Manifest as JSON, written last.
	ShardsName = "shards.json"
)

// Config configures Build. Zero fields take the defaults given.
type Config struct {
	// Input is the file pattern of the images (required): a glob of a
	// filesystem Beam has registered, "photos/*/*.jpg" or
	// "gs://bucket/photos/*.png". Matched files whose names
	// preprocess.IsImageFile rejects are left out. Local patterns are
	// filepath.Glob's, which has no "**".
	Input string

	// Model is the path of the model file (siamese.Model.Save's), local
	// or on a Beam filesystem such as gs:// (required). Every worker
	// process reads it once.
	Model string

	// Output is the output folder, local or on a Beam filesystem
	// (required).
	Output string

	// Search writes search vectors (siamese.Model.FoldHead) instead of
	// plain embeddings of the first tower, as bulk.Config.Search.
	Search bool

	// BatchSize is the number of images a forward pass takes. Default 32.
	BatchSize int

	// ShardSize is about the number of images a shard file holds: the
	// number of shards is the number of images divided by ShardSize,
	// rounded up, and paths go to shards by a hash. A shard is also the
	// unit of work a retry redoes. Default 1024.
	ShardSize int

	// MaxPixels is the largest image, in pixels, decoded; a larger one is
	// skipped as too large. Default preprocess.MaxPixels.
	MaxPixels int64
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.ShardSize == 0 {
		c.ShardSize = 1024
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = preprocess.MaxPixels
	}
	return c
}

// Validate reports a configuration Build cannot use.
func (c Config) Validate() error {
	switch {
	case c.Input == "":
		return errors.New("pipeline: no input pattern (Config.Input)")
	case c.Model == "":
		return errors.New("pipeline: no model file (Config.Model)")
	case c.Output == "":
		return errors.New("pipeline: no output folder (Config.Output)")
	case c.BatchSize < 1 || c.ShardSize < 1:
		return fmt.Errorf("pipeline: BatchSize %d and ShardSize %d must be at least 1", c.BatchSize, c.ShardSize)
	case c.MaxPixels < 1:
		return fmt.Errorf("pipeline: MaxPixels %d must be at least 1", c.MaxPixels)
	}
	return nil
}

// Shard is a shard file written: its name in the output folder and the
// number of rows (images embedded) it holds.
type Shard struct {
	File string `json:"file"`
	Rows int    `json:"rows"`
}

// Manifest is the content of shards.json.
type Manifest struct {
	Images   int     `json:"images"`   // image files matched
	Embedded int     `json:"embedded"` // rows, in all shards
	Skipped  int     `json:"skipped"`  // images in skipped.jsonl
	Shards   []Shard `json:"shards"`   // by name
}

// Outputs are the collections Build returns.
type Outputs struct {
	// Shards is a PCollection<Shard>, one element a shard file written.
	Shards beam.PCollection
	// Skipped is a PCollection<bulk.Skipped>, one element an image left
	// out, as skipped.jsonl lists them.
	Skipped beam.PCollection
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Shard)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*bulk.Skipped)(nil)).Elem())
	register.DoFn2x0[fileio.FileMetadata, func(string)](&imagePathFn{})
	register.Emitter1[string]()
	register.DoFn3x1[string, int, func(int, string), error](&shardKeyFn{})
	register.Emitter2[int, string]()
	register.DoFn6x1[context.Context, int, func(*string) bool, int, func(Shard), func(bulk.Skipped), error](&embedShardFn{})
	register.Emitter1[Shard]()
	register.Emitter1[bulk.Skipped]()
	register.Iter1[string]()
	register.DoFn5x1[context.Context, int, func(*Shard) bool, func(*bulk.Skipped) bool, int, error](&finishFn{})
	register.Iter1[Shard]()
	register.Iter1[bulk.Skipped]()
}

// Build adds to s the steps that embed cfg.Input's images into sharded
// Parquet files in cfg.Output (see the package documentation), and
// returns the shards written and the images skipped. Nothing is read
// until the pipeline runs.
func Build(s beam.Scope, cfg Config) (Outputs, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Outputs{}, err
	}
	s = s.Scope("gosiamese.Embed")
	files := fileio.MatchFiles(s, cfg.Input, fileio.MatchEmptyDisallow())
	paths := beam.ParDo(s, &imagePathFn{}, files)
	total := stats.CountElms(s, paths)
	keyed := beam.ParDo(s, &shardKeyFn{ShardSize: cfg.ShardSize}, paths, beam.SideInput{Input: total})
	shards, skipped := beam.ParDo2(s, &embedShardFn{
		Model: cfg.Model, Output: cfg.Output, Search: cfg.Search,
		BatchSize: cfg.BatchSize, ShardSize: cfg.ShardSize, MaxPixels: cfg.MaxPixels,
	}, beam.GroupByKey(s, keyed), beam.SideInput{Input: total})
	beam.ParDo0(s, &finishFn{Output: cfg.Output}, beam.GroupByKey(s, beam.AddFixedKey(s, shards)),
		beam.SideInput{Input: skipped}, beam.SideInput{Input: total})
	return Outputs{Shards: shards, Skipped: skipped}, nil
}

// imagePathFn keeps the paths of the matched files that name images.
type imagePathFn struct{}

func (*imagePathFn) ProcessElement(f fileio.FileMetadata, emit func(string)) {
	if !strings.HasSuffix(f.Path, "/") && preprocess.IsImageFile(f.Path) {
		emit(f.Path)
	}
}

// numShards is the number of shards for n images.
func numShards(n, shardSize int) int { return max(1, (n+shardSize-1)/shardSize) }

// ShardName is the file name of shard i of n.
func ShardName(i, n int) string { return fmt.Sprintf("part-%05d-of-%05d.parquet", i, n) }

// shardKeyFn keys a path by its shard: a hash of the path, so that every
// attempt and every worker puts it in the same shard.
type shardKeyFn struct {
	ShardSize int
}

func (fn *shardKeyFn) ProcessElement(path string, total int, emit func(int, string)) error {
	if total < 1 {
		return fmt.Errorf("pipeline: %d images counted", total)
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	emit(int(h.Sum64()%uint64(numShards(total, fn.ShardSize))), path)
	return nil
}

// join joins a folder and a file name, for local paths and URLs alike.
func join(dir, name string) string { return strings.TrimSuffix(dir, "/") + "/" + name }
