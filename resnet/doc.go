// Package resnet builds ResNet encoders (ResNet-18, 34, 50, 101 and 152) on
// Gorgonia graphs with torchvision's topology and parameter names, and loads
// pretrained weights from safetensors files.
//
// The topology is torchvision's ("ResNet v1.5"): a 7x7/2 stem convolution,
// BatchNorm, ReLU and a 3x3/2 max pool; four stages of basic (18, 34) or
// bottleneck (50, 101, 152) blocks, the stride on the 3x3 convolution, and a
// projection shortcut (strided 1x1 convolution and BatchNorm) where the
// shape changes. BatchNorm's epsilon is 1e-5 and its momentum 0.1.
//
// The output is chosen as with Keras' pooling= argument: average-pooled
// features (the default), max-pooled features, or the last feature map; or
// torchvision's classifier top with NumClasses outputs. InChannels sets the
// input channels (1 for greyscale).
//
// An Encoder owns its parameters. Forward attaches it to a layers.Graph;
// attached to several graphs, or twice to one, it shares one set of
// parameters (see package layers). Infer runs it in inference mode on a
// tensor. Built with the onednn tag, Infer runs the encoder (without a
// classifier top) as one oneDNN net instead of a graph: BatchNorm folded
// into the convolutions, ReLU and the residual addition fused into them,
// and the activations kept in oneDNN's layouts from the stem to the
// pooling.
//
// InferWith takes InferOptions, whose Precision is FP32 by default. BF16,
// opt-in, runs that oneDNN net on bfloat16 activations and weights with
// float32 accumulation and float32 outputs, on CPUs with native bfloat16
// (AVX-512 BF16 or AMX): faster, and about 1% off float32 (the tests'
// tolerance is 2% of the output's scale and a cosine of 0.9995). Where it
// cannot run (no onednn tag, no native bfloat16) it is an error wrapping
// ErrPrecisionUnavailable, never a silent float32 run.
//
// Weights load from a path (LoadFile), an fs.FS such as an embed.FS
// (LoadFS) or an open safetensors.File over any io.ReaderAt (LoadFrom).
// Weights that do not fit the encoder give an error wrapping
// ErrArchitecture.
//
// Numerical parity with torchvision 0.14 is tested in this package against
// reference values produced by testdata/torchvision_reference.py.
package resnet
