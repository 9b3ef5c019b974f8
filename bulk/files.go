package bulk

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Row is one image's line of output: its path as given and its embedding
// (or search vector). Parquet files hold the columns path and embedding,
// JSON lines the keys "path" and "embedding".
type Row struct {
	Path      string    `parquet:"path" json:"path"`
	Embedding []float32 `parquet:"embedding,list" json:"embedding"`
}

// ReadShard reads the rows of a shard Run wrote, Parquet or JSON lines by
// the file's extension (.parquet, .jsonl).
func ReadShard(path string) ([]Row, error) {
	switch filepath.Ext(path) {
	case ".parquet":
		rows, err := parquet.ReadFile[Row](path)
		if err != nil {
			return nil, fmt.Errorf("bulk: %s: %w", path, err)
		}
		return rows, nil
	case ".jsonl":
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("bulk: %w", err)
		}
		defer f.Close()
		var rows []Row
		dec := json.NewDecoder(bufio.NewReader(f))
		for {
			var r Row
			if err := dec.Decode(&r); err == io.EOF {
				return rows, nil
			} else if err != nil {
				return nil, fmt.Errorf("bulk: %s: row %d: %w", path, len(rows)+1, err)
			}
			rows = append(rows, r)
		}
	}
	return nil, fmt.Errorf("bulk: %s: not a .parquet or .jsonl file", path)
}

// atomicFile is a file written under a temporary name in its folder and
// renamed to its own name by commit, so that the name only ever shows a
// whole file.
type atomicFile struct {
	*bufio.Writer
	f    *os.File
	path string
}

// tempPrefix starts the names of temporary files; a killed run leaves
// them behind and the next one removes them.
const tempPrefix = ".tmp-"

func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	return &atomicFile{Writer: bufio.NewWriterSize(f, 1<<20), f: f, path: path}, nil
}

// commit flushes, syncs and renames the file into place, then syncs the
// folder so that the rename lasts too.
func (a *atomicFile) commit() error {
	err := errors.Join(a.Flush(), a.f.Sync(), a.f.Close())
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("bulk: writing %s: %w", a.path, err)
	}
	if d, err := os.Open(filepath.Dir(a.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// abort drops the file.
func (a *atomicFile) abort() {
	a.f.Close()
	os.Remove(a.f.Name())
}

// writeAtomic writes what write writes to path atomically.
func writeAtomic(path string, write func(io.Writer) error) error {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	if err := write(a); err != nil {
		a.abort()
		return fmt.Errorf("bulk: writing %s: %w", path, err)
	}
	return a.commit()
}

// removeTemps removes the temporary files a killed run left in dir.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("bulk: %w", err)
			}
		}
	}
	return nil
}

// shardWriter writes the rows of one shard.
type shardWriter interface {
	write(r Row) error
	// commit finishes the file and puts it in place.
	commit() error
	abort()
}

func newShardWriter(path string, f Format, meta map[string]string) (shardWriter, error) {
	a, err := createAtomic(path)
	if err != nil {
		return nil, err
	}
	if f == JSONL {
		return &jsonWriter{a, json.NewEncoder(a)}, nil
	}
	return &parquetWriter{a, NewParquetWriter(a, meta)}, nil
}

type jsonWriter struct {
	*atomicFile
	enc *json.Encoder
}

func (w *jsonWriter) write(r Row) error { return w.enc.Encode(r) }

type parquetWriter struct {
	*atomicFile
	w *ParquetWriter
}

func (w *parquetWriter) write(r Row) error { return w.w.Write(r) }

func (w *parquetWriter) commit() error {
	if err := w.w.Close(); err != nil {
		w.abort()
		return fmt.Errorf("bulk: writing %s: %w", w.path, err)
	}
	return w.atomicFile.commit()
}

// ParquetWriter writes rows as Run's Parquet shards hold them (columns
// path and embedding, uncompressed, the key-value metadata given), to any
// io.Writer: for writing such files elsewhere than to a folder, as a
// pipeline on another engine does.
type ParquetWriter struct {
	w *parquet.GenericWriter[Row]
}

// NewParquetWriter starts a Parquet file on w with the key-value metadata
// meta (Metadata's, for files like Run's). Close finishes the file; it
// does not close w.
func NewParquetWriter(w io.Writer, meta map[string]string) *ParquetWriter {
	opts := []parquet.WriterOption{}
	for _, k := range sortedKeys(meta) {
		opts = append(opts, parquet.KeyValueMetadata(k, meta[k]))
	}
	return &ParquetWriter{parquet.NewGenericWriter[Row](w, opts...)}
}

// Write adds rows to the file.
func (p *ParquetWriter) Write(rows ...Row) error {
	if _, err := p.w.Write(rows); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	return nil
}

// Close writes the rows still buffered and the file's footer.
func (p *ParquetWriter) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	return nil
}
