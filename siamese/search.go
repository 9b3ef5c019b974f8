package siamese

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/gosiamese/gosiamese/internal/numeric"
)

// SearchMetric is the name of the plain distance under which search
// vectors (see FoldHead) rank references as Gallery.Search does: "l1"
// (Manhattan), "l2" (Euclidean) or "cosine", the model's Distance. Vector
// stores name them so: Faiss METRIC_L1 / METRIC_L2, Qdrant Manhattan /
// Euclid / Cosine, Milvus L2 / COSINE, pgvector <+> / <-> / <=>. Cosine
// search vectors have unit length, so an inner product or L2 ranks them
// the same way.
func (m *Model) SearchMetric() string { return m.cfg.Distance.String() }

// SearchScales returns the factors FoldHead multiplies each embedding
// dimension by: |u_i| for L1 and sqrt(|u_i|) for L2, u being the output
// layer's weights (the head weighs dimension i by -|u_i|). It returns nil
// for Cosine, whose search vectors are normalised instead.
func (m *Model) SearchScales() []float32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.searchScales()
}

func (m *Model) searchScales() []float32 {
	if m.cfg.Distance == Cosine {
		return nil
	}
	u := m.out.Weight.Float32s()
	s := make([]float32, len(u))
	for i, v := range u {
		a := math.Abs(float64(v))
		if m.cfg.Distance == L2 {
			a = math.Sqrt(a)
		}
		s[i] = float32(a)
	}
	return s
}

// FoldHead returns the search vector of an embedding: the embedding with
// the output layer's weights folded in, so that the plain distance named
// by SearchMetric between two search vectors orders pairs as the model's
// score does (a smaller distance, a higher score). The head computes
// logit = bias - Σ|u_i| d_i, so for L1 dimension i is scaled by |u_i|
// (plain L1 is then Σ|u_i||a_i-b_i|), for L2 by sqrt(|u_i|) (plain
// squared L2 is Σ|u_i|(a_i-b_i)²), and for Cosine, where the head has a
// single weight, the vector is divided by sqrt(|e|² + 1e-12), as the
// model's cosine divides, which is unit length for any embedding that is
// not almost zero. Queries and references are folded alike; references
// come from the second tower (Network.EmbedImages(Second, ...)) when the
// towers are separate.
func (m *Model) FoldHead(e Embedding) ([]float32, error) {
	if f := m.cfg.embeddingSize(); len(e) != f {
		return nil, fmt.Errorf("siamese: FoldHead: embedding of length %d, want %d", len(e), f)
	}
	out := make([]float32, len(e))
	if m.cfg.Distance == Cosine {
		var ss float64
		for _, v := range e {
			ss += float64(v) * float64(v)
		}
		n := math.Sqrt(ss + numeric.Eps)
		for i, v := range e {
			out[i] = float32(float64(v) / n)
		}
		return out, nil
	}
	for i, s := range m.SearchScales() {
		out[i] = float32(float64(e[i]) * float64(s))
	}
	return out, nil
}

// SearchVectors embeds imgs by tower t and folds the head into each (see
// FoldHead): vectors to store in, or query, an external vector index
// under the metric SearchMetric names. References go through Second,
// queries through First, as in a Gallery.
func (m *Model) SearchVectors(t Tower, imgs []image.Image) ([][]float32, error) {
	return m.SearchVectorsContext(context.Background(), t, imgs)
}

// SearchVectorsContext is SearchVectors under a context (see
// EmbedBatchContext).
func (m *Model) SearchVectorsContext(ctx context.Context, t Tower, imgs []image.Image) ([][]float32, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("siamese: no images to embed")
	}
	m.mu.RLock()
	es, err := m.embedImages(ctx, int(t&1), imgs)
	m.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(es))
	for i, e := range es {
		if out[i], err = m.FoldHead(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScoreDistance returns the score of a pair whose search vectors (see
// FoldHead) lie at plain distance d under SearchMetric: sigmoid(bias - d)
// for L1 and L2 (d the Manhattan distance, or the squared Euclidean
// one), sigmoid(bias - |u| d) for Cosine (d = 1 - cos). It is what
// ScoreEmbeddings gives for the embeddings themselves, up to rounding, so
// that a vector index holding search vectors can report the model's
// score for what it finds.
func (m *Model) ScoreDistance(d float64) Score {
	m.mu.RLock()
	defer m.mu.RUnlock()
	z := float64(m.out.Bias.Float32s()[0])
	if m.cfg.Distance == Cosine {
		d *= math.Abs(float64(m.out.Weight.Float32s()[0]))
	}
	return Score(numeric.Sigmoid(z - d))
}
