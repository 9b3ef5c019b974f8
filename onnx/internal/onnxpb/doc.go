// Package onnxpb holds the Go types of the ONNX protobuf schema, generated
// with protoc-gen-go from onnx.proto as ONNX 1.12.0 ships it (IR version 8,
// operator sets up to 17), copied here from Debian's libonnx-dev
// 1.12.0-2+b4 (/usr/include/onnx/onnx.proto, Apache-2.0). The runtime is
// google.golang.org/protobuf.
//
// To regenerate (Debian's protobuf-compiler 3.21.12, protoc-gen-go v1.36.12):
//
//	apt-get install protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	cd onnx/internal/onnxpb && go generate
//
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/gosiamese/gosiamese/onnx/internal/onnxpb onnx.proto
package onnxpb
