package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// loaded is a model a worker process holds, with the metadata of its
// files.
type loaded struct {
	m    *siamese.Model
	meta map[string]string

	// run lets one batch at a time through the network, whatever the
	// bundles running at once: its matrix products already use every
	// core, and batches side by side would only hold more buffers.
	run sync.Mutex
}

// models holds the models loaded in this process, by path and search
// flag: a runner runs many instances of a DoFn in one worker process (one
// a bundle it processes at once), and they share one model, whose matrix
// products already use every core.
var models struct {
	sync.Mutex
	byKey map[string]*loaded
}

// loadModel returns the model at path, read through Beam's filesystems
// the first time a process asks for it.
func loadModel(ctx context.Context, path string, search bool) (*loaded, error) {
	key := fmt.Sprintf("%t %s", search, path)
	models.Lock()
	defer models.Unlock()
	if l := models.byKey[key]; l != nil {
		return l, nil
	}
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: model %s: %w", path, err)
	}
	defer fsys.Close()
	b, err := filesystem.Read(ctx, fsys, path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: model %s: %w", path, err)
	}
	m, err := siamese.LoadReaderAt(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("pipeline: model %s: %w", path, err)
	}
	meta, err := bulk.Metadata(m, search)
	if err != nil {
		return nil, fmt.Errorf("pipeline: model %s: %w", path, err)
	}
	if models.byKey == nil {
		models.byKey = map[string]*loaded{}
	}
	l := &loaded{m: m, meta: meta}
	models.byKey[key] = l
	return l, nil
}

// filesystems opens Beam filesystems by scheme and keeps them open; its
// methods may be called at once from many goroutines.
type filesystems struct {
	mu     sync.Mutex
	byName map[string]filesystem.Interface
}

func (c *filesystems) get(ctx context.Context, path string) (filesystem.Interface, error) {
	scheme := ""
	if i := strings.Index(path, "://"); i > 0 {
		scheme = path[:i]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.byName[scheme]; f != nil {
		return f, nil
	}
	f, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if c.byName == nil {
		c.byName = map[string]filesystem.Interface{}
	}
	c.byName[scheme] = f
	return f, nil
}

func (c *filesystems) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.byName {
		f.Close()
	}
	c.byName = nil
}

// embedShardFn embeds the images of one shard and writes its file.
type embedShardFn struct {
	Model     string
	Output    string
	Search    bool
	BatchSize int
	ShardSize int
	MaxPixels int64

	model *loaded
	fs    filesystems
}

func (fn *embedShardFn) Setup(ctx context.Context) error {
	l, err := loadModel(ctx, fn.Model, fn.Search)
	fn.model = l
	return err
}

func (fn *embedShardFn) Teardown() { fn.fs.close() }

func (fn *embedShardFn) ProcessElement(ctx context.Context, shard int, iter func(*string) bool, total int, emit func(Shard), skip func(bulk.Skipped)) error {
	var paths []string
	for p := ""; iter(&p); {
		paths = append(paths, p)
	}
	// One order whatever order the shuffle gave, so that every attempt
	// writes the same file; a pattern matches a file once, but a path
	// seen twice would be embedded once.
	slices.Sort(paths)
	paths = slices.Compact(paths)

	name := ShardName(shard, numShards(total, fn.ShardSize))
	out := join(fn.Output, name)
	m, in := fn.model.m, fn.model.m.Config().Input
	per := in.Channels * in.Size * in.Size
	var rows []bulk.Row
	var batch []string
	pix := make([]float32, 0, fn.BatchSize*per)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// A short batch, a shard's last, is padded with blank images to
		// the next power of two (at most BatchSize), so that the network
		// runs it in one piece at one of few batch sizes (few compiled
		// graphs) and not as the powers of two it would split into; an
		// image's embedding does not depend on its batch where
		// layers.BatchInvariant holds, and elsewhere images run one at a
		// time anyway.
		n := len(batch)
		if layers.BatchInvariant() {
			size := 1
			for size < n {
				size *= 2
			}
			for len(pix) < min(size, fn.BatchSize)*per {
				pix = append(pix, make([]float32, per)...)
			}
		}
		x := tensor.New(tensor.WithShape(len(pix)/per, in.Channels, in.Size, in.Size), tensor.WithBacking(pix))
		fn.model.run.Lock()
		es, err := m.Network().EmbedPreprocessed(x)
		fn.model.run.Unlock()
		es = es[:min(n, len(es))]
		if err != nil {
			return fmt.Errorf("pipeline: %s: %w", name, err)
		}
		for i, e := range es {
			v := []float32(e)
			if fn.Search {
				if v, err = m.FoldHead(e); err != nil {
					return fmt.Errorf("pipeline: %s: %w", name, err)
				}
			}
			rows = append(rows, bulk.Row{Path: batch[i], Embedding: v})
		}
		batch, pix = batch[:0], pix[:0]
		return nil
	}
	var skipped []bulk.Skipped
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for slot := range fn.decode(ctx, paths, in) {
		var d decoded
		select {
		case d = <-slot:
		case <-ctx.Done():
			return fmt.Errorf("pipeline: %s: %w", name, ctx.Err())
		}
		if d.err != nil {
			if !usable(d.err) {
				return d.err
			}
			skipped = append(skipped, bulk.NewSkipped(d.path, d.err))
			continue
		}
		batch, pix = append(batch, d.path), append(pix, d.pix...)
		if len(batch) == fn.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		// The images stopped coming before the last.
		return fmt.Errorf("pipeline: %s: %w", name, err)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := fn.write(ctx, out, rows); err != nil {
		return err
	}
	// Emitted only once the file is in place: a runner commits them with
	// the bundle, and a failed attempt's are dropped.
	for _, s := range skipped {
		skip(s)
	}
	emit(Shard{File: name, Rows: len(rows)})
	return nil
}

// decoded is an image read, decoded and preprocessed, or the error that
// stopped it.
type decoded struct {
	path string
	pix  []float32
	err  error
}

// decode reads, decodes and preprocesses paths on GOMAXPROCS goroutines,
// while the network runs, at most 2 x BatchSize images ahead. It returns
// one channel a path, in the order of paths, each to receive its image;
// once ctx ends no further image starts and the channel of channels
// closes.
func (fn *embedShardFn) decode(ctx context.Context, paths []string, in preprocess.Config) <-chan chan decoded {
	type job struct {
		path string
		out  chan<- decoded
	}
	jobs := make(chan job)
	slots := make(chan chan decoded, 2*fn.BatchSize)
	go func() {
		defer close(jobs)
		defer close(slots)
		for _, p := range paths {
			ch := make(chan decoded, 1)
			select {
			case slots <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{p, ch}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for j := range jobs {
				v, err := fn.pixels(ctx, j.path, in)
				j.out <- decoded{j.path, v, err}
			}
		}()
	}
	return slots
}

// errRead marks an error reading a file, as opposed to one of the
// image's: the bundle fails and the runner retries it.
var errRead = errors.New("pipeline: reading")

// usable reports whether err, from pixels, is the image's fault (it is
// then skipped) rather than the filesystem's.
func usable(err error) bool { return !errors.Is(err, errRead) }

// pixels reads, decodes and preprocesses the image at path. A missing file
// wraps fs.ErrNotExist, a bad image preprocess's errors, and any other
// failure to read errRead.
func (fn *embedShardFn) pixels(ctx context.Context, path string, in preprocess.Config) ([]float32, error) {
	fsys, err := fn.fs.get(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errRead, path, err)
	}
	r, err := fsys.OpenRead(ctx, path)
	if errors.Is(err, storage.ErrObjectNotExist) {
		err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errRead, path, err)
	}
	defer r.Close()
	img, err := preprocess.DecodeLimit(r, fn.MaxPixels)
	if err != nil {
		if errors.Is(err, preprocess.ErrCorrupt) || errors.Is(err, preprocess.ErrUnknownFormat) || errors.Is(err, preprocess.ErrTooLarge) {
			return nil, fmt.Errorf("pipeline: %s: %w", path, err)
		}
		return nil, fmt.Errorf("%w %s: %w", errRead, path, err)
	}
	v, err := preprocess.Pixels(img, in)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return v, nil
}

// write writes rows to the Parquet file path: under a temporary name in
// its folder (unique to this attempt, so that two attempts of a bundle
// never write one file), renamed to path once whole.
func (fn *embedShardFn) write(ctx context.Context, path string, rows []bulk.Row) error {
	fsys, err := fn.fs.get(ctx, path)
	if err != nil {
		return err
	}
	return writeAtomic(ctx, fsys, path, func(w io.Writer) error {
		pw := bulk.NewParquetWriter(w, fn.model.meta)
		if err := pw.Write(rows...); err != nil {
			return err
		}
		return pw.Close()
	})
}

// tempPrefix starts the names of temporary files in the output folder.
const tempPrefix = ".tmp-"

// writeAtomic writes what write writes to path on fsys under a temporary
// name, then renames it to path. Where the filesystem cannot rename, the
// temporary file is copied and removed (filesystem.Rename).
func writeAtomic(ctx context.Context, fsys filesystem.Interface, path string, write func(io.Writer) error) error {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	dir, name := splitPath(path)
	tmp := join(dir, tempPrefix+name+"-"+hex.EncodeToString(r[:]))
	w, err := fsys.OpenWrite(ctx, tmp)
	if err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	err = write(w)
	if s, ok := w.(interface{ Sync() error }); ok && err == nil {
		err = s.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = filesystem.Rename(ctx, fsys, tmp, path)
	}
	if err != nil {
		if rm, ok := fsys.(filesystem.Remover); ok {
			rm.Remove(ctx, tmp)
		}
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	return nil
}

// splitPath splits path at its last slash.
func splitPath(path string) (dir, name string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return ".", path
	}
	return path[:i], path[i+1:]
}
