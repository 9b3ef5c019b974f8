package bulk

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestDuckDBReads writes Parquet shards and reads them with DuckDB (npm's
// @duckdb/node-api, through testdata/duckdb_read.cjs): the columns are
// VARCHAR and FLOAT[], the rows are the ones ReadShard gives, value for
// value, and the key-value metadata is Metadata's. DuckDB lives in
// $DUCKDB_DIR/node_modules, or ../bench/.duckdb/node_modules
// (bench/duckdb_install.sh puts it there); without it, or without node,
// the test skips, unless GOSIAMESE_REQUIRE_DUCKDB is set (as CI sets it).
func TestDuckDBReads(t *testing.T) {
	dir := os.Getenv("DUCKDB_DIR")
	if dir == "" {
		dir = filepath.Join("..", "bench", ".duckdb")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, noNode := exec.LookPath("node")
	_, noDuckDB := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json"))
	if noNode != nil || noDuckDB != nil {
		msg := "node and @duckdb/node-api in " + dir + " are needed (bench/duckdb_install.sh, or set DUCKDB_DIR)"
		if os.Getenv("GOSIAMESE_REQUIRE_DUCKDB") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	src := images(t, t.TempDir(), 7)
	paths, err := Folder(src)
	if err != nil {
		t.Fatal(err)
	}
	m, out := tinyModel(t, 5), t.TempDir()
	res, err := Run(context.Background(), m, paths, Config{Dir: out, ShardSize: 4, MaxPixels: testMaxPixels})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join("testdata", "duckdb_read.cjs"), filepath.Join(out, "part-*.parquet"), res.Shards[0])
	cmd.Env = append(os.Environ(), "DUCKDB_DIR="+dir)
	b, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("DuckDB: %v: %s", err, stderr)
	}
	var got struct {
		Columns  []struct{ Name, Type string }
		Rows     []Row
		Metadata []struct{ Key, Value string }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("DuckDB's output: %v: %s", err, b)
	}
	if len(got.Columns) != 2 || got.Columns[0].Name != "path" || got.Columns[0].Type != "VARCHAR" || got.Columns[1].Name != "embedding" || got.Columns[1].Type != "FLOAT[]" {
		t.Errorf("DuckDB sees the columns %+v, want path VARCHAR and embedding FLOAT[]", got.Columns)
	}
	want := allRows(t, out)
	if len(want) != 7 || !slices.EqualFunc(got.Rows, want, func(a, b Row) bool { return a.Path == b.Path && slices.Equal(a.Embedding, b.Embedding) }) {
		t.Errorf("DuckDB reads %d rows, ReadShard %d (want 7), or their values differ", len(got.Rows), len(want))
	}
	meta, err := Metadata(m, false)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, e := range got.Metadata {
		kv[e.Key] = e.Value
	}
	for k, v := range meta {
		if kv[k] != v {
			t.Errorf("DuckDB reads metadata %s = %q, want %q", k, kv[k], v)
		}
	}
}
