package bulk

import (
	"fmt"
	"path/filepath"
)

// Output is what a job's output folder holds, as its manifest records it:
// the format, the metadata (the Key constants), the finished shards'
// files in input order and whether the job is complete.
type Output struct {
	Format   Format
	Metadata map[string]string
	// Files are the paths of the finished shards, in the order of the
	// sorted inputs.
	Files    []string
	Complete bool
}

// ReadOutput reads the manifest of the output folder dir.
func ReadOutput(dir string) (*Output, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("bulk: %s: no %s: not an output folder of Run", dir, ManifestName)
	}
	f, err := ParseFormat(m.Format)
	if err != nil {
		return nil, fmt.Errorf("bulk: %s: %w", filepath.Join(dir, ManifestName), err)
	}
	out := &Output{Format: f, Metadata: m.Metadata, Complete: m.Complete}
	for _, s := range m.Shards {
		if s.File != filepath.Base(s.File) {
			return nil, fmt.Errorf("bulk: %s: shard file %q is not a name in the folder", filepath.Join(dir, ManifestName), s.File)
		}
		out.Files = append(out.Files, filepath.Join(dir, s.File))
	}
	return out, nil
}
