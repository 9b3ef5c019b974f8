// Package onnx writes a Siamese model as ONNX files, so that a model
// trained here can be served by ONNX Runtime, Triton or any other ONNX
// runtime, on a CPU or a GPU.
//
// ExportEncoder writes one tower, ExportModel the whole model:
//
//	file            inputs                          outputs
//	ExportEncoder   image   float32 (N, C, S, S)    embedding  float32 (N, F)
//	ExportModel     image_a float32 (N, C, S, S)    score      float32 (N, 1)
//	                image_b float32 (N, C, S, S)    logit      float32 (N, 1)
//
// N, the batch, is dynamic (the dimension is named "N"); C and S are the
// model's preprocess.Config Channels and Size, and the inputs are images
// already preprocessed as that configuration says (resized, cropped,
// normalised, channels first), which the files' metadata repeats as JSON
// under "gosiamese.preprocess". F is the embedding size. score is
// sigmoid(logit), the model's Score; logit is bias - Σ|u_i| d_i.
//
// The files use the default ONNX operator set, version 17 (Opset), and IR
// version 8 (ONNX 1.12): Conv, Relu, MaxPool, Add, GlobalAveragePool or
// GlobalMaxPool, Flatten, Gemm, Sub, Abs, Mul, Div, Sqrt, ReduceSum,
// ReduceSumSquare and Sigmoid. Each BatchNorm is folded into the
// convolution before it (inference uses the running statistics); Dropout,
// absent at inference, is left out; the output layer's weights are written
// as the -|u| the model uses. Separate towers are written as two towers.
//
// With Options.SearchVectors, ExportEncoder outputs search vectors
// instead of embeddings (siamese.Model.FoldHead): vectors an external
// vector store ranks, under the plain metric siamese.Model.SearchMetric
// names (also in the metadata, "gosiamese.search_metric"), as
// siamese.Gallery does.
//
// The package's tests run the files in ONNX Runtime 1.30 (npm's
// onnxruntime-node) and compare the outputs with the library's, and pass
// them through ONNX 1.12's checker.
package onnx
