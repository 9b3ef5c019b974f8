// Package index is an approximate nearest-neighbour index of search
// vectors (siamese.Model.FoldHead) kept in one file: the embedded default
// for galleries too large to embed again at every start or to scan in
// full for every query.
//
// It is an inverted file (IVF-Flat, as Faiss's IndexIVFFlat): k-means
// splits the vectors into Config.Lists lists around centroids, a query is
// compared with the centroids and then, exactly, with every vector of the
// Probe nearest lists. Nothing is quantised: the distances it reports are
// the plain distances of the search vectors, under the model's metric
// (siamese.Distance: L1, squared L2 or cosine distance 1 - cos), so that
// siamese.Model.ScoreDistance turns them into the model's scores and an
// exact search (Index.Exact) ranks as siamese.Gallery does. Results are
// ordered by distance, then by the order the vectors were added (ties
// rank as in a Gallery); building, adding and searching are deterministic
// for a given Config.Seed.
//
// Build makes an index of vectors in memory; FromBulk makes one from the
// output folder of package bulk (Parquet or JSON-lines shards), checking
// the metadata: the vectors must be search vectors, or are folded with
// the model they came from. Save writes the file atomically (a temporary
// file in the same folder, synced, then renamed: a crash never leaves a
// part of a file under the name), Load reads it back and tells a file
// that is not an index, a damaged one (truncated, altered: every byte is
// covered by a SHA-256) and one of another model apart (ErrNotIndex,
// ErrDamaged, ErrModel).
//
// An Index is safe for concurrent use: searches run in parallel, Add and
// SetProbe wait for them.
package index
