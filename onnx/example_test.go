package onnx_test

import (
	"bytes"
	"fmt"

	"github.com/gosiamese/gosiamese/onnx"
	pb "github.com/gosiamese/gosiamese/onnx/internal/onnxpb"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"google.golang.org/protobuf/proto"
)

// A model's encoder and the whole model, written as ONNX: what goes in
// and what comes out (N is the dynamic batch).
func Example() {
	m, err := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{16},
		Input:   preprocess.Config{Size: 32},
		Seed:    1,
	})
	if err != nil {
		panic(err)
	}
	var enc, model bytes.Buffer
	if err := onnx.ExportEncoder(&enc, m, onnx.Options{}); err != nil {
		panic(err)
	}
	if err := onnx.ExportModel(&model, m, onnx.Options{}); err != nil {
		panic(err)
	}
	for _, b := range [][]byte{enc.Bytes(), model.Bytes()} {
		var f pb.ModelProto
		if err := proto.Unmarshal(b, &f); err != nil {
			panic(err)
		}
		fmt.Printf("opset %d:", f.GetOpsetImport()[0].GetVersion())
		for _, v := range f.GetGraph().GetInput() {
			fmt.Printf(" %s", v.GetName())
		}
		fmt.Print(" ->")
		for _, v := range f.GetGraph().GetOutput() {
			fmt.Printf(" %s", v.GetName())
		}
		fmt.Println()
	}
	// Output:
	// opset 17: image -> embedding
	// opset 17: image_a image_b -> score logit
}
