package bulk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gosiamese/gosiamese/siamese"
)

// ManifestName is the name of the manifest in the output folder.
const ManifestName = "manifest.json"

// SkippedName is the name of the list of skipped images in the output
// folder, written when the job is complete: one JSON object a line, as
// Skipped marshals.
const SkippedName = "skipped.jsonl"

// Metadata keys of the Parquet files and the manifest.
const (
	// KeyModel is the SHA-256 of the model file Model.WriteTo writes
	// (configuration, weights and threshold), in hex: the model's identity.
	KeyModel = "gosiamese.model_sha256"
	// KeyConfig is the model's configuration as JSON.
	KeyConfig = "gosiamese.config"
	// KeyConfigHash is the SHA-256 of KeyConfig's value, in hex.
	KeyConfigHash = "gosiamese.config_sha256"
	// KeyDistance is the model's distance ("l1", "l2" or "cosine"), the
	// metric under which search vectors are compared.
	KeyDistance = "gosiamese.distance"
	// KeySearch is "true" when the vectors are search vectors (the head
	// folded in), "false" for plain embeddings of the first tower.
	KeySearch = "gosiamese.search_vectors"
	// KeySize is the number of values a vector has.
	KeySize = "gosiamese.embedding_size"
)

// Metadata returns the key-value metadata Run writes for model m: the
// Key constants and their values.
func Metadata(m *siamese.Model, search bool) (map[string]string, error) {
	h := sha256.New()
	if _, err := m.WriteTo(h); err != nil {
		return nil, fmt.Errorf("bulk: hashing the model: %w", err)
	}
	cfg := m.Config()
	cfg.EncoderWeights = ""
	cj, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	ch := sha256.Sum256(cj)
	return map[string]string{
		KeyModel:      hex.EncodeToString(h.Sum(nil)),
		KeyConfig:     string(cj),
		KeyConfigHash: hex.EncodeToString(ch[:]),
		KeyDistance:   m.SearchMetric(),
		KeySearch:     strconv.FormatBool(search),
		KeySize:       strconv.Itoa(cfg.EmbeddingSize()),
	}, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// manifest records a job and the shards it has finished.
type manifest struct {
	Version      int               `json:"version"`
	Format       string            `json:"format"`
	Metadata     map[string]string `json:"metadata"`
	Inputs       int               `json:"inputs"`
	InputsSHA256 string            `json:"inputs_sha256"`
	ShardSize    int               `json:"shard_size"`
	Shards       []shardRecord     `json:"shards"`
	Complete     bool              `json:"complete"`
}

// shardRecord is a finished shard: the images First to End-1 of the
// sorted inputs, Rows of them embedded and the others skipped.
type shardRecord struct {
	Index   int       `json:"index"`
	File    string    `json:"file"`
	First   int       `json:"first"`
	End     int       `json:"end"`
	Rows    int       `json:"rows"`
	Skipped []Skipped `json:"skipped,omitempty"`
}

const manifestVersion = 1

func hashPaths(paths []string) string {
	h := sha256.New()
	for _, p := range paths {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readManifest reads dir's manifest; it returns nil and no error when
// there is none.
func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bulk: %s: %w", path, err)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("bulk: %s: version %d, want %d", path, m.Version, manifestVersion)
	}
	return &m, nil
}

// sameJob reports how the job recorded in old differs from want, or nil.
func (want *manifest) sameJob(old *manifest) error {
	switch {
	case old.Format != want.Format:
		return fmt.Errorf("format %s, not %s", old.Format, want.Format)
	case old.Metadata[KeyModel] != want.Metadata[KeyModel]:
		return errors.New("another model")
	case old.Metadata[KeySearch] != want.Metadata[KeySearch]:
		return fmt.Errorf("search vectors %s, not %s", old.Metadata[KeySearch], want.Metadata[KeySearch])
	case old.Inputs != want.Inputs || old.InputsSHA256 != want.InputsSHA256:
		return fmt.Errorf("another list of %d images, not these %d", old.Inputs, want.Inputs)
	case old.ShardSize != want.ShardSize:
		return fmt.Errorf("shards of %d images, not %d", old.ShardSize, want.ShardSize)
	}
	return nil
}

func (m *manifest) write(dir string) error {
	return writeAtomic(filepath.Join(dir, ManifestName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
}
