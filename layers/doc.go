// Package layers supplies the building blocks of the encoders and the
// Siamese head on Gorgonia graphs: Conv2D, BatchNorm, ReLU, MaxPool, global
// average and max pooling, Flatten, Dense, Dropout and the L1 distance.
//
// Each layer is right in training and in inference regardless of known
// Gorgonia bugs: Conv2D, BatchNorm (alone or fused with a ReLU), ReLU,
// AddReLU, global pooling, Dense (and MatMulT, its product without bias),
// Dropout and L1 are ops of this package (gorgonia.Op with their own
// gradients, each checked against central differences in float64);
// MaxPool uses Gorgonia's op, which was checked the same way. Dense's
// product and its gradients run on the same kernels as the convolutions.
//
// Conv2D is one matrix product over the whole batch, weights times the
// matrix of image columns (im2col). In the default build on amd64 the
// float32 product runs as tiles of an assembly kernel, AVX-512 (8x32) or
// AVX2/FMA (6x16), the widest the CPU has: the image columns are packed
// straight from the input, the output is written in NCHW order and the
// BatchNorm/ReLU epilogue is applied to each finished tile, so no im2col
// matrix or transposed copy is made. The gradient of a stride-1
// convolution for its input is itself computed as a convolution, of the
// output's gradient with the weights flipped, when the output has 512
// values per channel or more. Both kernels pack the columns in vector
// code (masked loads for stride-1 convolutions, gathers for the others
// and for the weight gradient), and ResNet's stem pooling has AVX-512 and
// AVX2 code. GODEBUG=cpu.avx512f=off holds all of it to its AVX2 form, as
// on an AVX2-only CPU. GOSIAMESE_GEMM in the environment
// forces a kernel ("avx512", "avx2") or gonum's pure-Go Sgemm ("generic");
// other CPUs and the purego build tag use gonum. Products run on
// GOMAXPROCS goroutines (GemmBackend names the backend). OpenBLAS replaces
// them with the openblas build tag (cgo, libopenblas-dev, im2col and
// cblas_sgemm), meant to be run with OPENBLAS_CORETYPE set where OpenBLAS
// does not recognise the CPU, for example
//
//	OPENBLAS_CORETYPE=SkylakeX go test -tags openblas ./...
//
// In an Inference graph a convolution on the tile path keeps its weights
// packed for the kernel from one run to the next: one packed copy per
// parameter, the size of its weights, shared by every inference graph the
// parameter is bound to. Each run hashes the weights and packs them again
// when they have changed, so an optimiser step, a load or a write through
// Param.Value is seen without telling the graph. ConvBNAddReLU, the end of
// a residual block, adds the shortcut and applies the ReLU in the same
// epilogue as the BatchNorm.
//
// The ops of a graph that is differentiated, and of one passed to
// KeepOutputs, write each run into the tensors of the run before, so a
// training step or a cached inference graph allocates nothing in steady
// state; scratch buffers are reused from a free list. NewTapeMachine
// runs graphs on an engine that sums a node's gradients (where it feeds
// several ops) on GOMAXPROCS goroutines.
//
// With the onednn build tag (cgo, libdnnl-dev 2.6) float32 convolutions
// run instead as oneDNN convolution primitives, forward and both
// gradients, which choose AVX2, AVX-512 or AMX kernels for the CPU when the
// program runs; GemmBackend reports "onednn". Tensors stay in plain NCHW
// between ops and each primitive reorders to and from the layout it
// prefers. In an Inference graph, ConvBN's BatchNorm scale is folded into
// the weights as they are reordered, its shift is the convolution's bias
// and the ReLU a post-op. oneDNN runs on GOMAXPROCS threads.
//
// A Graph pairs a Gorgonia expression graph with a Mode. Layers own their
// Params; attaching a layer to a Graph binds each parameter's tensor by
// pointer, so that
//
//   - a layer used twice in one graph (both towers of a Siamese network)
//     has one parameter node, and the gradients of both uses are summed;
//   - a layer attached to a training and an inference graph shares its
//     values with both: an optimiser step is seen by the inference graph,
//     and so are the BatchNorm running statistics a training run updates.
//
// In an Inference graph Dropout is the identity and BatchNorm uses its
// running statistics; in a Training graph Dropout draws a mask from the
// graph's seed on every run (never from the clock) and BatchNorm normalises
// with the batch statistics and updates the running ones as PyTorch does.
//
// Weights are read and written with LoadParams and SaveParams in the
// safetensors format, strictly by name and shape.
package layers
