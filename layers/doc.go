// Package layers supplies the building blocks of the encoders and the
// Siamese head on Gorgonia graphs: Conv2D, BatchNorm, ReLU, MaxPool, global
// average and max pooling, Flatten, Dense, Dropout and the L1 distance.
//
// Each layer is right in training and in inference regardless of known
// Gorgonia bugs: Conv2D, BatchNorm (alone or fused with a ReLU), ReLU,
// AddReLU, global pooling, Dropout and L1 are ops of this package
// (gorgonia.Op with their own gradients, each checked against central
// differences in float64); MaxPool and Dense use Gorgonia's ops, which
// were checked the same way.
//
// Conv2D is im2col (or none, for 1x1 stride-1 convolutions) and one matrix
// product over the whole batch. The products run on GOMAXPROCS goroutines
// through the build's backend (GemmBackend): by default Go with assembly
// kernels on amd64, AVX-512 or AVX2/FMA as the CPU allows (gonum's pure-Go
// Sgemm on other CPUs, with the purego build tag, or with
// GOSIAMESE_GEMM=generic in the environment); OpenBLAS with the openblas build tag
// (cgo, libopenblas-dev), meant to be run with OPENBLAS_CORETYPE set where
// OpenBLAS does not recognise the CPU, for example
//
//	OPENBLAS_CORETYPE=SkylakeX go test -tags openblas ./...
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
