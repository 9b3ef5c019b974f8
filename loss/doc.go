// Package loss holds the training objectives of a Siamese network as pure
// functions on Gorgonia graphs: each takes nodes and returns a node, and
// none holds state, so one graph built once serves every batch of its
// shape.
//
// # Label convention
//
// Everywhere in this package a pair label of 1 means "same" (a positive
// pair: both images show the same thing) and 0 means "different" (a
// negative pair). This is the convention of the Keras original and of
// binary cross-entropy, and it is the opposite of Hadsell, Chopra & LeCun
// (2006), whose Y is 1 for dissimilar pairs: Contrastive's label is the
// paper's 1 - Y. Triplet and ContrastiveBatch take class ids instead of pair labels; two rows
// with equal ids form a positive pair.
//
// # Functions
//
//   - BCEWithLogits: mean binary cross-entropy of logits, computed stably
//     from the logits (never through a saturating sigmoid).
//   - EuclideanDistance: row-wise distance sqrt(Σ(a-b)² + Eps) of two
//     (N, D) embeddings.
//   - Contrastive: the contrastive loss on distances and pair labels.
//   - ContrastiveBatch: the contrastive loss of every pair of rows of a
//     batch of embeddings with class ids.
//   - Triplet: the triplet loss on a batch of embeddings and class ids,
//     with batch-all or batch-hard online mining (Hermans, Beyer & Leibe
//     2017).
//
// Each is an op of this package with its own gradient (checked against
// central differences in float64) and works in float32 and float64;
// sums are taken in float64 either way. Labels are never differentiated.
// Shapes are validated when the graph is built: a bad shape is an error,
// never a panic. Every error starts with "loss: ".
package loss
