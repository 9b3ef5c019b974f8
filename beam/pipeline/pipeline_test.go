package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/parquet-go/parquet-go"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// The pipelines run on prism, Beam's local runner, in this process.
func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// bad names the files images writes that are not usable images, by the
// reason they are skipped for.
var bad = map[string]string{
	"a/notes.png": bulk.ReasonNotImage,
	"b/cut.png":   bulk.ReasonCorrupt,
	"c/huge.png":  bulk.ReasonTooLarge, // over testMaxPixels
}

const testMaxPixels = 80 * 80

// images writes n small PNGs of seeded noise, of a few sizes, in three
// folders under dir, the bad files, and a text file the pattern matches
// but that is not an image by its name; it returns the good images'
// paths.
func images(t testing.TB, dir string, n int) []string {
	t.Helper()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encode := func(name string, w, h int) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, detrand.Image(name, h, w)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	var good []string
	for i := range n {
		name := fmt.Sprintf("%c/img%02d.png", 'a'+i%3, i)
		good = append(good, write(name, encode(name, 32+i%3*8, 40-i%2*8)))
	}
	write("a/notes.png", []byte("not an image, a text file\n"))
	whole := encode("cut", 40, 40)
	write("b/cut.png", whole[:len(whole)/2])
	write("c/huge.png", encode("huge", 100, 90))
	write("c/readme.txt", []byte("left out by its name\n"))
	slices.Sort(good)
	return good
}

// tinyModel saves an untrained ResNet-18 of width 8 at 32x32, seeded, in
// dir and returns its path.
func tinyModel(t testing.TB, dir string) string {
	t.Helper()
	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Hidden: []int{16}, Input: preprocess.Config{Size: 32}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// run builds cfg's pipeline, checks on the way that the second output
// has one element a bad file, and runs it on prism.
func run(t *testing.T, cfg Config) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	out, err := Build(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	passert.Count(s, out.Skipped, "skipped", len(bad))
	start := time.Now()
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	t.Logf("pipeline ran in %v", time.Since(start))
}

// TestPipeline runs the pipeline on prism over a folder of 14 images and
// 3 bad files, in shards of about 4, and checks that every image is in
// exactly one shard with the embedding Model.Embed gives, bit for bit;
// that the bad files, and only they, are reported with their reasons; and
// that a second run over the same output, as a retried bundle, writes the
// same files again, byte for byte, and removes a failed attempt's
// temporary file.
func TestPipeline(t *testing.T) {
	dir := t.TempDir()
	good := images(t, filepath.Join(dir, "in"), 14)
	modelPath := tinyModel(t, dir)
	outDir := filepath.Join(dir, "out")
	cfg := Config{
		Input: filepath.Join(dir, "in", "*", "*"), Model: modelPath, Output: outDir,
		BatchSize: 3, ShardSize: 4, MaxPixels: testMaxPixels,
	}
	run(t, cfg)

	m, err := siamese.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := bulk.Metadata(m, false)
	if err != nil {
		t.Fatal(err)
	}
	shards, man := checkOutput(t, outDir, good, dir)
	seen := map[string]int{}
	for _, f := range shards {
		rows, err := bulk.ReadShard(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			seen[r.Path]++
			img, err := preprocess.Load(r.Path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Embed(img)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Embedding, want) {
				t.Errorf("%s: embedding %v, want Model.Embed's %v", r.Path, r.Embedding[:3], want[:3])
			}
		}
		checkMetadata(t, f, meta)
	}
	for _, p := range good {
		if seen[p] != 1 {
			t.Errorf("%s: in %d shards, want 1", p, seen[p])
		}
	}
	if len(seen) != len(good) {
		t.Errorf("%d paths in the shards, want the %d good images", len(seen), len(good))
	}
	if want := numShards(len(good)+len(bad), 4); len(man.Shards) > want {
		t.Errorf("%d shards, want at most %d", len(man.Shards), want)
	}

	// Again, over the first run's output, with a temporary file that a
	// failed attempt would leave.
	before := readAll(t, shards)
	stale := filepath.Join(outDir, tempPrefix+ShardName(0, 4)+"-0123456789abcdef")
	if err := os.WriteFile(stale, []byte("half a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, cfg)
	again, _ := checkOutput(t, outDir, good, dir)
	if !slices.Equal(again, shards) {
		t.Fatalf("second run: shards %v, want %v", again, shards)
	}
	for i, b := range readAll(t, again) {
		if !bytes.Equal(b, before[i]) {
			t.Errorf("second run: %s differs from the first run's", again[i])
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("%s: a failed attempt's temporary file is still there", stale)
	}
}

// checkOutput checks the files in out against the good images and bad
// files under dir: shards.json lists the shard files there are, with
// their rows, and skipped.jsonl the bad files with their reasons. It
// returns the shard files' paths, sorted, and the manifest.
func checkOutput(t *testing.T, out string, good []string, dir string) ([]string, Manifest) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, ShardsName))
	if err != nil {
		t.Fatal(err)
	}
	var man Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.Images != len(good)+len(bad) || man.Embedded != len(good) || man.Skipped != len(bad) {
		t.Errorf("%s: %+v, want %d images, %d embedded, %d skipped", ShardsName, man, len(good)+len(bad), len(good), len(bad))
	}
	shards, err := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	rows := 0
	for _, s := range man.Shards {
		listed = append(listed, filepath.Join(out, s.File))
		rs, err := bulk.ReadShard(filepath.Join(out, s.File))
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != s.Rows {
			t.Errorf("%s: %d rows, %s says %d", s.File, len(rs), ShardsName, s.Rows)
		}
		rows += len(rs)
	}
	if !slices.Equal(listed, shards) || rows != len(good) {
		t.Errorf("%s lists %v (%d rows), the folder holds %v", ShardsName, listed, rows, shards)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); n != SkippedName && n != ShardsName && !strings.HasPrefix(n, "part-") {
			t.Errorf("%s: an unexpected file in the output", n)
		}
	}

	f, err := os.Open(filepath.Join(out, SkippedName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var skipped []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s bulk.Skipped
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "in"), s.Path)
		if want, ok := bad[filepath.ToSlash(rel)]; !ok || s.Reason != want || !strings.Contains(s.Error, s.Path) {
			t.Errorf("skipped %+v: want one of the bad files, with its reason and an error naming it", s)
		}
		skipped = append(skipped, s.Path)
	}
	if len(skipped) != len(bad) || !slices.IsSorted(skipped) {
		t.Errorf("%s lists %v: want the %d bad files by path", SkippedName, skipped, len(bad))
	}
	return shards, man
}

func checkMetadata(t *testing.T, shard string, meta map[string]string) {
	t.Helper()
	b, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if got, ok := pf.Lookup(k); !ok || got != v {
			t.Errorf("%s: metadata %s = %q, want %q", shard, k, got, v)
		}
	}
}

func readAll(t *testing.T, files []string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestConfigValidate: Build refuses a configuration without a pattern,
// a model or an output, or with sizes below 1.
func TestConfigValidate(t *testing.T) {
	ok := Config{Input: "in/*", Model: "m.safetensors", Output: "out"}
	if err := ok.WithDefaults().Validate(); err != nil {
		t.Fatalf("%+v: %v", ok, err)
	}
	for _, c := range []Config{
		{Model: "m", Output: "o"},
		{Input: "i", Output: "o"},
		{Input: "i", Model: "m"},
		{Input: "i", Model: "m", Output: "o", BatchSize: -1},
		{Input: "i", Model: "m", Output: "o", ShardSize: -2},
		{Input: "i", Model: "m", Output: "o", MaxPixels: -1},
	} {
		_, s := beam.NewPipelineWithRoot()
		if _, err := Build(s, c); err == nil || !strings.HasPrefix(err.Error(), "pipeline: ") {
			t.Errorf("%+v: error %v, want one from pipeline", c, err)
		}
	}
}

// TestShardRetry: two attempts at one shard, given its paths in another
// order (as a shuffle may) and one of them twice, write the same file,
// byte for byte, under the same name, and report the same rows and
// skipped images.
func TestShardRetry(t *testing.T) {
	dir := t.TempDir()
	good := images(t, filepath.Join(dir, "in"), 5)
	paths := append(slices.Clone(good), filepath.Join(dir, "in", "b", "cut.png"))
	fn := &embedShardFn{Model: tinyModel(t, dir), Output: filepath.Join(dir, "out"), BatchSize: 2, ShardSize: 4, MaxPixels: testMaxPixels}
	if err := fn.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer fn.Teardown()
	attempt := func(order []string) ([]byte, []Shard, []bulk.Skipped) {
		i := 0
		iter := func(p *string) bool {
			if i == len(order) {
				return false
			}
			*p, i = order[i], i+1
			return true
		}
		var shards []Shard
		var skipped []bulk.Skipped
		if err := fn.ProcessElement(t.Context(), 1, iter, len(paths), func(s Shard) { shards = append(shards, s) }, func(s bulk.Skipped) { skipped = append(skipped, s) }); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "out", ShardName(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		return b, shards, skipped
	}
	first, shards, skipped := attempt(paths)
	rev := slices.Clone(paths)
	slices.Reverse(rev)
	again, shards2, skipped2 := attempt(append(rev, good[2]))
	if !bytes.Equal(first, again) {
		t.Error("the second attempt wrote another file")
	}
	if want := []Shard{{File: ShardName(1, 2), Rows: len(good)}}; !slices.Equal(shards, want) || !slices.Equal(shards2, want) {
		t.Errorf("shards %v and %v, want %v", shards, shards2, want)
	}
	if len(skipped) != 1 || skipped[0].Reason != bulk.ReasonCorrupt || !slices.Equal(skipped, skipped2) {
		t.Errorf("skipped %v and %v, want the corrupt file once each", skipped, skipped2)
	}
	rows, err := bulk.ReadShard(filepath.Join(dir, "out", ShardName(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Path)
	}
	if !slices.Equal(got, good) {
		t.Errorf("rows %v, want %v", got, good)
	}
}

// TestShardCancelled: an attempt whose context ends fails and leaves no
// shard file, rather than a file short of images.
func TestShardCancelled(t *testing.T) {
	dir := t.TempDir()
	good := images(t, filepath.Join(dir, "in"), 6)
	fn := &embedShardFn{Model: tinyModel(t, dir), Output: filepath.Join(dir, "out"), BatchSize: 2, ShardSize: 8, MaxPixels: testMaxPixels}
	if err := fn.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer fn.Teardown()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	i := 0
	iter := func(p *string) bool {
		if i == len(good) {
			return false
		}
		*p, i = good[i], i+1
		return true
	}
	err := fn.ProcessElement(ctx, 0, iter, len(good), func(Shard) { t.Error("a shard emitted") }, func(bulk.Skipped) {})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want one wrapping context.Canceled", err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "out", "*")); len(files) != 0 {
		t.Errorf("files %v written", files)
	}
}
