package index

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/siamese"
)

// FromBulk builds an index of the vectors in the output folder dir of
// bulk.Run (examples/embed -out), Parquet or JSON lines, named by their
// image paths. The job must be complete. Search vectors (bulk.Config.Search,
// embed -search) are used as they are; plain embeddings are folded with
// m (siamese.Model.FoldHead), which must then be the model that wrote
// them. When m is not nil the folder's model must be m (its SHA-256, as
// bulk.Metadata computes it). The metric is the one the metadata names.
// The index keeps the folder's metadata, with bulk.KeySearch "true".
func FromBulk(dir string, m *siamese.Model, cfg Config) (*Index, error) {
	out, err := bulk.ReadOutput(dir)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if !out.Complete {
		return nil, fmt.Errorf("index: %s: the embedding job is not complete: run it again to finish it", dir)
	}
	meta := out.Metadata
	metric, err := siamese.ParseDistance(meta[bulk.KeyDistance])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: distance %q", ErrModel, dir, meta[bulk.KeyDistance])
	}
	var mc struct{ SeparateTowers bool }
	if err := json.Unmarshal([]byte(meta[bulk.KeyConfig]), &mc); err != nil {
		return nil, fmt.Errorf("%w: %s: model configuration: %v", ErrModel, dir, err)
	}
	if mc.SeparateTowers {
		return nil, fmt.Errorf("%w: %s: the model has separate towers, and the folder holds its first (query) tower's vectors, not references'", ErrModel, dir)
	}
	search, err := strconv.ParseBool(meta[bulk.KeySearch])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s %q", ErrModel, dir, bulk.KeySearch, meta[bulk.KeySearch])
	}
	if m != nil {
		if err := sameModel(meta, m); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrModel, dir, err)
		}
	} else if !search {
		return nil, fmt.Errorf("%w: %s holds plain embeddings: give their model to fold them, or embed with search vectors (embed -search)", ErrModel, dir)
	}
	var ids []string
	var vecs [][]float32
	for _, f := range out.Files {
		if out.Format == bulk.Parquet {
			if err := parquetModel(f, meta[bulk.KeyModel]); err != nil {
				return nil, err
			}
		}
		rows, err := bulk.ReadShard(f)
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		for _, r := range rows {
			v := r.Embedding
			if !search {
				if v, err = m.FoldHead(v); err != nil {
					return nil, fmt.Errorf("index: %s: %s: %w", f, r.Path, err)
				}
			}
			ids, vecs = append(ids, r.Path), append(vecs, v)
		}
	}
	if len(vecs) == 0 {
		return nil, fmt.Errorf("index: %s: no vectors", dir)
	}
	ix, err := Build(metric, ids, vecs, cfg)
	if err != nil {
		return nil, err
	}
	meta = maps.Clone(meta)
	meta[bulk.KeySearch] = "true"
	ix.meta = meta
	return ix, nil
}

// parquetModel checks that the Parquet shard at path names the model
// want in its metadata.
func parquetModel(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("index: %s: %w", path, err)
	}
	if got, _ := pf.Lookup(bulk.KeyModel); got != want {
		return fmt.Errorf("%w: %s: made with model %.12s..., the folder's manifest names %.12s...", ErrModel, path, got, want)
	}
	return nil
}

// sameModel reports how the model metadata meta describes differs from m.
func sameModel(meta map[string]string, m *siamese.Model) error {
	mm, err := bulk.Metadata(m, true)
	if err != nil {
		return err
	}
	switch {
	case meta[bulk.KeyModel] != mm[bulk.KeyModel]:
		return fmt.Errorf("made with model %.12s..., not this one (%.12s...)", meta[bulk.KeyModel], mm[bulk.KeyModel])
	case meta[bulk.KeyDistance] != mm[bulk.KeyDistance]:
		return fmt.Errorf("distance %s, the model's is %s", meta[bulk.KeyDistance], mm[bulk.KeyDistance])
	}
	return nil
}

// CheckModel reports whether the index holds m's search vectors and can
// answer m's queries: the same metric and vector length, and, when the
// index records a model (FromBulk does), the same model (ErrModel
// otherwise). Hashing the model takes a moment: call it once.
func (ix *Index) CheckModel(m *siamese.Model) error {
	if ix.metric.String() != m.SearchMetric() {
		return fmt.Errorf("%w: the index's metric is %s, the model's %s", ErrModel, ix.metric, m.SearchMetric())
	}
	if f := m.Config().EmbeddingSize(); f != ix.dim {
		return fmt.Errorf("%w: the index holds vectors of length %d, the model's are %d long", ErrModel, ix.dim, f)
	}
	if m.Config().SeparateTowers {
		return fmt.Errorf("%w: the model has separate towers; an index holds one tower's vectors", ErrModel)
	}
	meta := ix.Metadata()
	if meta[bulk.KeyModel] == "" {
		return nil
	}
	if meta[bulk.KeySearch] != "true" {
		return fmt.Errorf("%w: the index does not hold search vectors", ErrModel)
	}
	if err := sameModel(meta, m); err != nil {
		return fmt.Errorf("%w: %v", ErrModel, err)
	}
	return nil
}
