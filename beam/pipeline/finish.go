package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/gosiamese/gosiamese/bulk"
)

// finishFn runs once all shards are written: it writes skipped.jsonl and
// shards.json and removes the temporary files of failed attempts.
type finishFn struct {
	Output string
}

func (fn *finishFn) ProcessElement(ctx context.Context, _ int, shardIter func(*Shard) bool, skippedIter func(*bulk.Skipped) bool, total int) error {
	var man Manifest
	man.Images = total
	for s := (Shard{}); shardIter(&s); {
		man.Shards = append(man.Shards, s)
		man.Embedded += s.Rows
	}
	slices.SortFunc(man.Shards, func(a, b Shard) int { return strings.Compare(a.File, b.File) })
	var skipped []bulk.Skipped
	for s := (bulk.Skipped{}); skippedIter(&s); {
		skipped = append(skipped, s)
	}
	slices.SortFunc(skipped, func(a, b bulk.Skipped) int { return strings.Compare(a.Path, b.Path) })
	man.Skipped = len(skipped)
	if man.Embedded+man.Skipped != man.Images {
		return fmt.Errorf("pipeline: %d images embedded and %d skipped of %d matched", man.Embedded, man.Skipped, man.Images)
	}

	fsys, err := filesystem.New(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	defer fsys.Close()
	err = writeAtomic(ctx, fsys, join(fn.Output, SkippedName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, s := range skipped {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Temporary files are left by attempts that failed after starting a
	// file; every attempt that counts has renamed its own by now.
	if rm, ok := fsys.(filesystem.Remover); ok {
		tmps, err := fsys.List(ctx, join(fn.Output, tempPrefix+"*"))
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		for _, t := range tmps {
			if err := rm.Remove(ctx, t); err != nil {
				return fmt.Errorf("pipeline: %w", err)
			}
		}
	}
	return writeAtomic(ctx, fsys, join(fn.Output, ShardsName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(man)
	})
}
