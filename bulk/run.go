package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/schollz/progressbar/v3"
	"gorgonia.org/tensor"
)

// Reasons an image is skipped, in Skipped.Reason.
const (
	ReasonCorrupt    = "corrupt"      // preprocess.ErrCorrupt
	ReasonNotImage   = "not an image" // preprocess.ErrUnknownFormat
	ReasonTooLarge   = "too large"    // preprocess.ErrTooLarge
	ReasonMissing    = "missing"      // no such file
	ReasonUnreadable = "unreadable"   // any other error: a folder, no permission
)

// Skipped is an image Run left out: its path, one of the Reason
// constants, and the error's text.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// NewSkipped returns the Skipped record Run makes of an image it could
// not use: err, from reading or decoding the image at path (preprocess's
// typed errors, fs.ErrNotExist), picks the Reason.
func NewSkipped(path string, err error) Skipped {
	r := ReasonUnreadable
	switch {
	case errors.Is(err, preprocess.ErrTooLarge):
		r = ReasonTooLarge
	case errors.Is(err, preprocess.ErrUnknownFormat):
		r = ReasonNotImage
	case errors.Is(err, preprocess.ErrCorrupt):
		r = ReasonCorrupt
	case errors.Is(err, fs.ErrNotExist):
		r = ReasonMissing
	}
	return Skipped{Path: path, Reason: r, Error: err.Error()}
}

// Result sums up a job.
type Result struct {
	Inputs   int       // distinct paths
	Embedded int       // rows written, in all shards
	Resumed  int       // shards an earlier run had finished
	Shards   []string  // the shard files, in input order
	Skipped  []Skipped // images left out, in input order
}

// Run embeds the images at paths with m (the first tower's embeddings,
// or with Config.Search the search vectors) and writes them to shards in
// cfg.Dir, resuming the job an earlier run there left unfinished (see
// the package documentation; a finished shard whose file has since been
// removed is done again). The paths are sorted and repeats dropped.
// Images that cannot be read are skipped and listed in the Result and in
// skipped.jsonl; only an error of the output, the model or ctx stops the
// job, and then the shards finished so far stay for the next run. Once
// ctx ends no further batch starts, and the error wraps ctx.Err().
func Run(ctx context.Context, m *siamese.Model, paths []string, cfg Config) (*Result, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("bulk: nil model")
	}
	paths = slices.Compact(slices.Sorted(slices.Values(paths)))
	if len(paths) == 0 {
		return nil, errors.New("bulk: no images to embed")
	}
	meta, err := Metadata(m, cfg.Search)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	if err := removeTemps(cfg.Dir); err != nil {
		return nil, err
	}
	man := &manifest{Version: manifestVersion, Format: cfg.Format.String(), Metadata: meta,
		Inputs: len(paths), InputsSHA256: hashPaths(paths), ShardSize: cfg.ShardSize}
	old, err := readManifest(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if err := man.sameJob(old); err != nil {
			return nil, fmt.Errorf("bulk: %s holds a job of %v: use another folder, or remove its %s to start over", cfg.Dir, err, ManifestName)
		}
		// A finished shard whose file has gone since is done again.
		for _, s := range old.Shards {
			if _, err := os.Stat(filepath.Join(cfg.Dir, s.File)); err == nil {
				man.Shards = append(man.Shards, s)
			}
		}
		man.Complete = old.Complete && len(man.Shards) == len(old.Shards)
	}
	// The shards to do, and the images the finished ones hold.
	done := map[int]bool{}
	doneImages := 0
	for _, s := range man.Shards {
		done[s.Index] = true
		doneImages += s.End - s.First
	}
	var todo []shardRecord
	for i := 0; i*cfg.ShardSize < len(paths); i++ {
		if !done[i] {
			first := i * cfg.ShardSize
			todo = append(todo, shardRecord{Index: i, File: fmt.Sprintf("part-%05d.%s", i, cfg.Format), First: first, End: min(first+cfg.ShardSize, len(paths))})
		}
	}
	resumed := len(man.Shards)

	j := &job{m: m, cfg: cfg, paths: paths, meta: meta, man: man}
	if cfg.Progress != nil && len(todo) > 0 {
		j.bar = newBar(cfg.Progress, len(paths), doneImages)
	}
	if err := j.run(ctx, todo); err != nil {
		return nil, err
	}
	if !man.Complete {
		var all []Skipped
		for _, s := range man.Shards {
			all = append(all, s.Skipped...)
		}
		if err := writeAtomic(filepath.Join(cfg.Dir, SkippedName), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			for _, s := range all {
				if err := enc.Encode(s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		man.Complete = true
		if err := man.write(cfg.Dir); err != nil {
			return nil, err
		}
	}
	res := &Result{Inputs: len(paths), Resumed: resumed}
	for _, s := range man.Shards {
		res.Embedded += s.Rows
		res.Shards = append(res.Shards, filepath.Join(cfg.Dir, s.File))
		res.Skipped = append(res.Skipped, s.Skipped...)
	}
	return res, nil
}

func newBar(w io.Writer, total, done int) *progressbar.ProgressBar {
	bar := progressbar.NewOptions64(int64(total),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("embedding"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("images"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	_ = bar.Set64(int64(done))
	return bar
}

// job is one call of Run.
type job struct {
	m     *siamese.Model
	cfg   Config
	paths []string
	meta  map[string]string
	man   *manifest
	bar   *progressbar.ProgressBar
}

// item is an image ready for the network, or the reason it was skipped.
type item struct {
	pix  []float32
	skip *Skipped
}

// run does the shards todo, in order, recording each in the manifest
// once its file is in place.
func (j *job) run(ctx context.Context, todo []shardRecord) error {
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	slots := j.decode(ctx, &wg, todo)
	next := func() (item, error) {
		select {
		case ch := <-slots:
			select {
			case it := <-ch:
				return it, nil
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
		return item{}, fmt.Errorf("bulk: stopped: %w", context.Cause(ctx))
	}
	for _, s := range todo {
		if err := j.shard(ctx, &s, next); err != nil {
			return err
		}
		j.man.Shards = append(j.man.Shards, s)
		slices.SortFunc(j.man.Shards, func(a, b shardRecord) int { return a.Index - b.Index })
		if err := j.man.write(j.cfg.Dir); err != nil {
			return err
		}
	}
	return nil
}

// decode starts the feeder and the workers: the feeder hands each path of
// the shards todo to a worker and queues, in input order, the channel
// the worker answers on; at most cfg.Queue answers wait.
func (j *job) decode(ctx context.Context, wg *sync.WaitGroup, todo []shardRecord) <-chan chan item {
	type work struct {
		path string
		out  chan<- item
	}
	jobs := make(chan work)
	slots := make(chan chan item, j.cfg.Queue)
	in := j.m.Config().Input
	wg.Add(1 + j.cfg.Workers)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for _, s := range todo {
			for _, p := range j.paths[s.First:s.End] {
				ch := make(chan item, 1)
				select {
				case slots <- ch:
				case <-ctx.Done():
					return
				}
				select {
				case jobs <- work{p, ch}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	for range j.cfg.Workers {
		go func() {
			defer wg.Done()
			for w := range jobs {
				img, err := preprocess.LoadLimit(w.path, j.cfg.MaxPixels)
				var pix []float32
				if err == nil {
					pix, err = preprocess.Pixels(img, in)
				}
				if err != nil {
					sk := NewSkipped(w.path, err)
					w.out <- item{skip: &sk}
				} else {
					w.out <- item{pix: pix}
				}
			}
		}()
	}
	return slots
}

// shard embeds the images of s and writes its file, filling in s's rows
// and skipped images.
func (j *job) shard(ctx context.Context, s *shardRecord, next func() (item, error)) (err error) {
	w, err := newShardWriter(filepath.Join(j.cfg.Dir, s.File), j.cfg.Format, j.meta)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.abort()
		}
	}()
	in := j.m.Config().Input
	per := in.Channels * in.Size * in.Size
	var batch []string
	pix := make([]float32, 0, j.cfg.BatchSize*per)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("bulk: stopped: %w", context.Cause(ctx))
		}
		x := tensor.New(tensor.WithShape(len(batch), in.Channels, in.Size, in.Size), tensor.WithBacking(pix))
		es, err := j.m.Network().EmbedPreprocessed(x)
		if err != nil {
			return fmt.Errorf("bulk: %w", err)
		}
		for i, e := range es {
			v := []float32(e)
			if j.cfg.Search {
				if v, err = j.m.FoldHead(e); err != nil {
					return fmt.Errorf("bulk: %w", err)
				}
			}
			if err := w.write(Row{Path: batch[i], Embedding: v}); err != nil {
				return fmt.Errorf("bulk: writing %s: %w", s.File, err)
			}
		}
		s.Rows += len(batch)
		if j.bar != nil {
			_ = j.bar.Add(len(batch))
		}
		batch, pix = batch[:0], pix[:0]
		return nil
	}
	for _, p := range j.paths[s.First:s.End] {
		it, err := next()
		if err != nil {
			return err
		}
		if it.skip != nil {
			s.Skipped = append(s.Skipped, *it.skip)
			if j.bar != nil {
				_ = j.bar.Add(1)
			}
			continue
		}
		batch, pix = append(batch, p), append(pix, it.pix...)
		if len(batch) == j.cfg.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return w.commit()
}
