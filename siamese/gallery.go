package siamese

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"
)

// Gallery holds reference images embedded once, so that a query is scored
// against all of them for the cost of one embedding and the head alone:
// one image against many markers, signatures or products.
//
// References are embedded by the second tower and queries by the first
// (the same tower unless the model's towers are separate). A Gallery is
// safe for concurrent use.
type Gallery struct {
	m    *Model
	mu   sync.RWMutex
	ids  []string
	embs []Embedding
}

// Match is one reference's result for a query.
type Match struct {
	ID    string // the reference's ID
	Index int    // its position in the gallery
	Score Score  // the probability that it shows what the query shows
}

// NewGallery embeds refs, named by ids (one per image, unique).
func (m *Model) NewGallery(ids []string, refs []image.Image) (*Gallery, error) {
	return m.NewGalleryContext(context.Background(), ids, refs)
}

// NewGalleryContext is NewGallery under a context: once ctx ends no
// further batch of references is embedded, and the error wraps ctx.Err()
// (see EmbedBatchContext).
func (m *Model) NewGalleryContext(ctx context.Context, ids []string, refs []image.Image) (*Gallery, error) {
	g := &Gallery{m: m}
	if err := g.AddContext(ctx, ids, refs); err != nil {
		return nil, err
	}
	return g, nil
}

// Add embeds more references.
func (g *Gallery) Add(ids []string, refs []image.Image) error {
	return g.AddContext(context.Background(), ids, refs)
}

// AddContext is Add under a context, as NewGalleryContext. When ctx ends,
// none of refs is added.
func (g *Gallery) AddContext(ctx context.Context, ids []string, refs []image.Image) error {
	if len(ids) != len(refs) {
		return fmt.Errorf("siamese: gallery: %d ids for %d images", len(ids), len(refs))
	}
	if len(refs) == 0 {
		return nil
	}
	g.m.mu.RLock()
	embs, err := g.m.embedImages(ctx, 1, refs)
	g.m.mu.RUnlock()
	if err != nil {
		return err
	}
	return g.AddEmbeddings(ids, embs)
}

// AddEmbeddings adds references already embedded by the model's second
// tower (for example, stored from an earlier run).
func (g *Gallery) AddEmbeddings(ids []string, embs []Embedding) error {
	if len(ids) != len(embs) {
		return fmt.Errorf("siamese: gallery: %d ids for %d embeddings", len(ids), len(embs))
	}
	f := g.m.cfg.embeddingSize()
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := make(map[string]bool, len(g.ids)+len(ids))
	for _, id := range g.ids {
		seen[id] = true
	}
	for i, id := range ids {
		if seen[id] {
			return fmt.Errorf("%w %q", ErrDuplicateID, id)
		}
		seen[id] = true
		if len(embs[i]) != f {
			return fmt.Errorf("siamese: gallery: %s: embedding of length %d, want %d", id, len(embs[i]), f)
		}
	}
	g.ids = append(g.ids, ids...)
	for _, e := range embs {
		g.embs = append(g.embs, slices.Clone(e))
	}
	return nil
}

// Len returns the number of references.
func (g *Gallery) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ids)
}

// Search embeds query and returns the k best-scoring references, best
// first (ties in gallery order); k <= 0 returns all of them.
func (g *Gallery) Search(query image.Image, k int) ([]Match, error) {
	return g.SearchContext(context.Background(), query, k)
}

// SearchContext is Search under a context: it gives up with an error
// wrapping ctx.Err() if ctx ends before the query is embedded.
func (g *Gallery) SearchContext(ctx context.Context, query image.Image, k int) ([]Match, error) {
	q, err := g.m.EmbedContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return g.SearchEmbedding(q, k)
}

// SearchEmbedding is Search for a query already embedded by tower 0.
func (g *Gallery) SearchEmbedding(q Embedding, k int) ([]Match, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if len(g.ids) == 0 {
		return nil, errors.New("siamese: gallery is empty")
	}
	g.m.mu.RLock()
	defer g.m.mu.RUnlock()
	ms := make([]Match, len(g.ids))
	for i, e := range g.embs {
		s, err := g.m.scoreLocked(q, e)
		if err != nil {
			return nil, err
		}
		ms[i] = Match{ID: g.ids[i], Index: i, Score: s}
	}
	slices.SortStableFunc(ms, func(a, b Match) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if k > 0 && k < len(ms) {
		ms = ms[:k]
	}
	return ms, nil
}
