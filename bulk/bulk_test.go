package bulk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/parquet-go/parquet-go"
)

// allRows reads every shard in dir, in file-name order.
func allRows(t testing.TB, dir string) []Row {
	t.Helper()
	var rows []Row
	for _, ext := range []string{"parquet", "jsonl"} {
		files, err := filepath.Glob(filepath.Join(dir, "part-*."+ext))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			r, err := ReadShard(f)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r...)
		}
	}
	return rows
}

// want returns the vector Model.Embed (or FoldHead of it) gives for the
// image at path.
func want(t testing.TB, m *siamese.Model, path string, search bool) []float32 {
	t.Helper()
	img, err := preprocess.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.Embed(img)
	if err != nil {
		t.Fatal(err)
	}
	if !search {
		return e
	}
	v, err := m.FoldHead(e)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRun embeds a folder of 13 images and 3 bad files in shards of 4,
// in both formats, with plain embeddings and search vectors: every image
// is in one row, in sorted order, with exactly the vector Model.Embed
// (and FoldHead) gives; the bad files are skipped for the right reason,
// in the Result and in skipped.jsonl; the Parquet files carry the model's
// metadata.
func TestRun(t *testing.T) {
	src := images(t, t.TempDir(), 13)
	paths, err := Folder(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 16 {
		t.Fatalf("Folder found %d files, want 16", len(paths))
	}
	m := tinyModel(t, 5)
	for _, c := range []struct {
		format Format
		search bool
	}{{Parquet, false}, {JSONL, false}, {Parquet, true}} {
		t.Run(c.format.String(), func(t *testing.T) {
			out := t.TempDir()
			var bar bytes.Buffer
			// Reversed and repeated: Run sorts and drops repeats.
			in := append(slices.Clone(paths), paths[3], paths[0])
			slices.Reverse(in)
			res, err := Run(context.Background(), m, in, Config{Dir: out, Format: c.format, Search: c.search, BatchSize: 3, ShardSize: 4, Workers: 2, Queue: 3, MaxPixels: testMaxPixels, Progress: &bar})
			if err != nil {
				t.Fatal(err)
			}
			if res.Inputs != 16 || res.Embedded != 13 || len(res.Shards) != 4 || res.Resumed != 0 {
				t.Errorf("result %+v: want 16 inputs, 13 embedded, 4 shards, none resumed", res)
			}
			o, err := ReadOutput(out)
			if err != nil {
				t.Fatal(err)
			}
			if o.Format != c.format || !o.Complete || !slices.Equal(o.Files, res.Shards) || o.Metadata[KeySearch] != strconv.FormatBool(c.search) {
				t.Errorf("ReadOutput: %+v; want format %v, complete, files %v", o, c.format, res.Shards)
			}
			if !strings.Contains(bar.String(), "16/16") {
				t.Errorf("progress %q does not reach 16/16", bar.String())
			}
			rows := allRows(t, out)
			var got []string
			for _, r := range rows {
				got = append(got, r.Path)
				if w := want(t, m, r.Path, c.search); !slices.Equal(r.Embedding, w) {
					t.Errorf("%s: vector differs from the model's (%d values, want %d)", r.Path, len(r.Embedding), len(w))
				}
			}
			var good []string
			for _, p := range paths {
				rel, _ := filepath.Rel(src, p)
				if bad[rel] == "" {
					good = append(good, p)
				}
			}
			if !slices.Equal(got, good) {
				t.Errorf("rows for %q, want %q", got, good)
			}
			checkSkipped(t, src, res.Skipped)
			var listed []Skipped
			f, err := os.ReadFile(filepath.Join(out, SkippedName))
			if err != nil {
				t.Fatal(err)
			}
			for sc := bufio.NewScanner(bytes.NewReader(f)); sc.Scan(); {
				var s Skipped
				if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
					t.Fatal(err)
				}
				listed = append(listed, s)
			}
			if !slices.Equal(listed, res.Skipped) {
				t.Errorf("%s lists %v, the result %v", SkippedName, listed, res.Skipped)
			}
			if c.format == Parquet {
				checkMetadata(t, m, res.Shards[0], c.search)
			}
			// Run again: the job is complete, nothing is redone.
			again, err := Run(context.Background(), m, paths, Config{Dir: out, Format: c.format, Search: c.search, ShardSize: 4, MaxPixels: testMaxPixels})
			if err != nil {
				t.Fatal(err)
			}
			if again.Resumed != 4 || again.Embedded != 13 || len(again.Skipped) != 3 {
				t.Errorf("second run %+v: want 4 shards resumed, 13 embedded, 3 skipped", again)
			}
			// A shard removed since is written again, as it was.
			if err := os.Remove(res.Shards[2]); err != nil {
				t.Fatal(err)
			}
			third, err := Run(context.Background(), m, paths, Config{Dir: out, Format: c.format, Search: c.search, ShardSize: 4, MaxPixels: testMaxPixels})
			if err != nil {
				t.Fatal(err)
			}
			if again := allRows(t, out); third.Resumed != 3 || !slices.EqualFunc(again, rows, func(a, b Row) bool { return a.Path == b.Path && slices.Equal(a.Embedding, b.Embedding) }) {
				t.Errorf("after removing %s: %d shards resumed, %d rows; want 3 and the %d rows as before", res.Shards[2], third.Resumed, len(again), len(rows))
			}
		})
	}
}

func checkSkipped(t *testing.T, src string, skipped []Skipped) {
	t.Helper()
	if len(skipped) != len(bad) {
		t.Errorf("skipped %v, want the %d bad files", skipped, len(bad))
	}
	for _, s := range skipped {
		rel, _ := filepath.Rel(src, s.Path)
		if s.Reason != bad[rel] || !strings.Contains(s.Error, s.Path) {
			t.Errorf("skipped %+v: want reason %q and an error naming the file", s, bad[rel])
		}
	}
}

func checkMetadata(t *testing.T, m *siamese.Model, shard string, search bool) {
	t.Helper()
	f, err := os.Open(shard)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	meta, err := Metadata(m, search)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if got, ok := pf.Lookup(k); !ok || got != v {
			t.Errorf("%s: metadata %s = %q, want %q", shard, k, got, v)
		}
	}
	if meta[KeyDistance] != "l1" || meta[KeySize] != "16" || meta[KeySearch] != map[bool]string{false: "false", true: "true"}[search] {
		t.Errorf("metadata %v: want distance l1, size 16, search %v", meta, search)
	}
	if got := pf.Schema().String(); !strings.Contains(got, "path") || !strings.Contains(got, "LIST") || !strings.Contains(got, "float") {
		t.Errorf("schema %s: want a path string and a list of floats", got)
	}
}

// TestRunRefusesAnotherJob: a folder holding a job of another model, list
// of images, shard size or format is not resumed, with an error saying
// why; the finished job's files stay.
func TestRunRefusesAnotherJob(t *testing.T) {
	src := images(t, t.TempDir(), 5)
	paths, err := Folder(src)
	if err != nil {
		t.Fatal(err)
	}
	m, out := tinyModel(t, 5), t.TempDir()
	cfg := Config{Dir: out, ShardSize: 4, MaxPixels: testMaxPixels}
	if _, err := Run(context.Background(), m, paths, cfg); err != nil {
		t.Fatal(err)
	}
	before := allRows(t, out)
	other := cfg
	other.ShardSize = 3
	jsonl := cfg
	jsonl.Format = JSONL
	for _, c := range []struct {
		m     *siamese.Model
		paths []string
		cfg   Config
		want  string
	}{
		{tinyModel(t, 6), paths, cfg, "another model"},
		{m, paths[1:], cfg, "another list of 8 images, not these 7"},
		{m, paths, other, "shards of 4 images, not 3"},
		{m, paths, jsonl, "format parquet, not jsonl"},
	} {
		_, err := Run(context.Background(), c.m, c.paths, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), out) {
			t.Errorf("error %v, want one naming %s and %q", err, out, c.want)
		}
	}
	if after := allRows(t, out); len(after) != len(before) || len(before) != 5 {
		t.Errorf("%d rows before, %d after; want 5 both", len(before), len(after))
	}
}

// TestRunStops: a cancelled context stops the job with an error wrapping
// context.Canceled, leaving no shard; bad configurations and inputs are
// errors naming the problem.
func TestRunStops(t *testing.T) {
	src := images(t, t.TempDir(), 4)
	paths, err := Folder(src)
	if err != nil {
		t.Fatal(err)
	}
	m, out := tinyModel(t, 5), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, m, paths, Config{Dir: out}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
	if rows := allRows(t, out); len(rows) != 0 {
		t.Errorf("%d rows written after a cancel", len(rows))
	}
	for _, c := range []struct {
		m     *siamese.Model
		paths []string
		cfg   Config
		want  string
	}{
		{m, paths, Config{}, "no output folder"},
		{m, paths, Config{Dir: out, BatchSize: -1}, "BatchSize -1"},
		{m, paths, Config{Dir: out, Format: 7}, "Format(7)"},
		{m, nil, Config{Dir: out}, "no images"},
		{nil, paths, Config{Dir: out}, "nil model"},
	} {
		if _, err := Run(context.Background(), c.m, c.paths, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bulk: ") {
			t.Errorf("%+v: error %v, want one naming %q", c.cfg, err, c.want)
		}
	}
}

// TestReadList: blank lines, comments and surrounding spaces are left out.
func TestReadOutputNoManifest(t *testing.T) {
	if _, err := ReadOutput(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "bulk: ") {
		t.Errorf("ReadOutput of an empty folder: %v, want a bulk error", err)
	}
}

func TestReadList(t *testing.T) {
	got, err := ReadList(strings.NewReader("a.png\r\n\n  # a comment\n  b/c d.jpg  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.png", "b/c d.jpg"}; !slices.Equal(got, want) {
		t.Errorf("ReadList: %q, want %q", got, want)
	}
	if _, err := Folder(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no image files") {
		t.Errorf("empty folder: error %v", err)
	}
	if f, err := ParseFormat("csv"); err == nil {
		t.Errorf("ParseFormat(csv) = %v, want an error", f)
	}
}

// TestRunOnlyBadFiles: shards whose every image is skipped are still
// written, empty, in both formats, and read back as no rows.
func TestRunOnlyBadFiles(t *testing.T) {
	src := images(t, t.TempDir(), 0)
	paths, err := Folder(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Parquet, JSONL} {
		res, err := Run(context.Background(), tinyModel(t, 5), paths, Config{Dir: t.TempDir(), Format: f, ShardSize: 2, MaxPixels: testMaxPixels})
		if err != nil {
			t.Fatal(err)
		}
		if res.Embedded != 0 || len(res.Shards) != 2 {
			t.Fatalf("%v: %+v, want 2 shards and nothing embedded", f, res)
		}
		checkSkipped(t, src, res.Skipped)
		for _, s := range res.Shards {
			if rows, err := ReadShard(s); err != nil || len(rows) != 0 {
				t.Errorf("%s: %d rows, error %v; want none, no error", s, len(rows), err)
			}
		}
	}
}

// TestParquetWriter: a file NewParquetWriter writes to a buffer reads back
// with its rows, in order, and its metadata, as Run's shards do.
func TestParquetWriter(t *testing.T) {
	var buf bytes.Buffer
	meta := map[string]string{KeyDistance: "cosine", KeySize: "3"}
	w := NewParquetWriter(&buf, meta)
	want := []Row{{Path: "a.png", Embedding: []float32{1, -2.5, 3}}, {Path: "b/c.png", Embedding: []float32{0, 1e-30, -7}}}
	if err := w.Write(want[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(want[1:]...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[Row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b Row) bool { return a.Path == b.Path && slices.Equal(a.Embedding, b.Embedding) }) {
		t.Errorf("rows %v, want %v", got, want)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if got, ok := pf.Lookup(k); !ok || got != v {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
}
