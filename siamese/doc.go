// Package siamese is a Siamese network for image similarity: two towers
// embed two images, a distance compares the embeddings and a sigmoid head
// gives a Score, the probability that the images show the same thing.
//
// The default Config is the network of the Keras original: pretrained (or
// fresh) ResNet-50 towers on 64x64 input, Dense 1024 + ReLU, Dropout 0.2,
// Dense 512 + ReLU, Dropout 0.2 per tower, the L1 distance |a - b|, Dense(1)
// and a sigmoid, trained with binary cross-entropy. Each of that design's
// traps is removed by construction:
//
//   - Weight sharing is real: both inputs run through one encoder and one
//     head (one parameter set, gradients of both towers summed). Separate
//     towers exist only as Config.SeparateTowers.
//   - Nothing follows the output: no Dropout after the score.
//   - One meaning for the score: Score is the probability of "same", label
//     1 means "same" (see loss.BCEWithLogits), Score.Same and Model.Same give
//     the verdict against a threshold (0.5, or a calibrated one saved with
//     the model). Distances appear only where a distance is meant.
//   - An image compared with itself gets the highest score the model can
//     give: the output layer weighs the distance features with
//     non-positive weights (bias - Σ|u_i| d_i), so the score can only fall
//     as embeddings part, whatever training does.
//   - Training and inference are different graphs: scoring never applies
//     Dropout and uses BatchNorm's running statistics, so a pair gets the
//     same score every time, alone or in a batch, at any position.
//   - Preprocessing belongs to the model (Config.Input) and is saved with
//     it; every scoring and embedding call applies it, to any image kind.
//   - A saved model is one self-describing safetensors file; it loads and
//     scores bit-identically, and a wrong or damaged file is a clear error.
//
// A user holds a Model: Load, Save, Compare, Embed, NewGallery and the
// verdict threshold. Training code works on its Network: the parameters,
// PairLogits to attach the model to a layers.Graph (use
// loss.BCEWithLogits on the logits), ChangeParams to change parameters
// while no score is computed, and SaveWith for a checkpoint that carries
// its own tensors in the model file. For one image against many, a
// Gallery embeds the references once and scores a query with the head
// alone. Beyond memory, Model.FoldHead and Model.SearchVectors give
// search vectors, the embeddings with the head's weights folded in, that an
// external vector store ranks under the plain metric Model.SearchMetric
// names as a Gallery ranks them (package onnx exports them too).
//
// For servers: each call that runs the network has a Context variant
// (EmbedContext, EmbedBatchContext, CompareContext, CompareBatchContext,
// NewGalleryContext, Gallery.AddContext, Gallery.SearchContext) that
// checks its context before each batch of at most MaxBatch images and,
// once it has ended, returns an error wrapping ctx.Err(); the calls
// without a context run under context.Background(). A model file loads
// from a path (Load), an fs.FS such as an embed.FS (LoadFS) or an
// io.ReaderAt (LoadReaderAt), and Model.WriteTo writes it to any
// io.Writer. Errors tell a wrong model file (ErrNotModel) from a damaged
// one (ErrDamaged) and from one of another shape (ErrArchitecture); bad
// images wrap preprocess.ErrTooLarge, ErrUnknownFormat or ErrCorrupt.
//
// Concurrent callers that each embed or compare a single image share
// forward passes through a Batcher (Model.NewBatcher): requests wait
// together up to BatcherConfig.MaxWait and run as one batch of up to
// MaxBatch images, with the results the model gives them alone; a full
// queue answers ErrOverloaded, a closed batcher ErrClosed.
//
// Model.SetPrecision(resnet.BF16) opts in to bfloat16 encoders when
// embedding and comparing (build tag onednn, a CPU with native bfloat16):
// faster, about 1% off float32; elsewhere it is an error, never a silent
// float32 run.
package siamese
