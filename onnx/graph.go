package onnx

import (
	"fmt"

	pb "github.com/gosiamese/gosiamese/onnx/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// builder assembles one ONNX graph: nodes in order, initializers by name
// (a tensor both towers use is stored once).
type builder struct {
	g     *pb.GraphProto
	inits map[string]bool
	n     int
	props []*pb.StringStringEntryProto
}

func newBuilder(name string) *builder {
	return &builder{g: &pb.GraphProto{Name: proto.String(name)}, inits: map[string]bool{}}
}

// op appends a node of type typ on inputs and returns its output's name,
// made unique from scope.
func (b *builder) op(scope, typ string, inputs []string, attrs ...*pb.AttributeProto) string {
	b.n++
	out := fmt.Sprintf("%s%s_%d", scope, typ, b.n)
	b.g.Node = append(b.g.Node, &pb.NodeProto{
		Name:      proto.String(out),
		OpType:    proto.String(typ),
		Input:     inputs,
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

// name gives the last node's output the graph-level name out; call it
// before anything reads that output.
func (b *builder) name(out string) string {
	n := b.g.Node[len(b.g.Node)-1]
	n.Name, n.Output[0] = proto.String(out), out
	return out
}

// init adds a float32 initializer once and returns its name.
func (b *builder) init(name string, dims []int64, data []float32) string {
	return b.add(&pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: data})
}

// initInt64 adds an int64 initializer once and returns its name.
func (b *builder) initInt64(name string, dims []int64, data []int64) string {
	return b.add(&pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: data})
}

// add adds the initializer t unless one of its name is there, and returns
// the name.
func (b *builder) add(t *pb.TensorProto) string {
	if !b.inits[t.GetName()] {
		b.inits[t.GetName()] = true
		b.g.Initializer = append(b.g.Initializer, t)
	}
	return t.GetName()
}

// meta adds a key and value to the model's metadata.
func (b *builder) meta(key, value string) {
	b.props = append(b.props, &pb.StringStringEntryProto{Key: proto.String(key), Value: proto.String(value)})
}

// input declares a float32 graph input of shape (N, rest...), N dynamic.
func (b *builder) input(name string, rest ...int) {
	b.g.Input = append(b.g.Input, valueInfo(name, rest))
}

// output declares a float32 graph output of shape (N, rest...).
func (b *builder) output(name string, rest ...int) {
	b.g.Output = append(b.g.Output, valueInfo(name, rest))
}

// batchDim is the name of the dynamic first dimension of every input and
// output.
const batchDim = "N"

func valueInfo(name string, rest []int) *pb.ValueInfoProto {
	dims := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: batchDim}}}
	for _, d := range rest {
		dims = append(dims, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)),
			Shape:    &pb.TensorShapeProto{Dim: dims},
		}}},
	}
}

func attrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

// model wraps the graph in a model of IR version 8 and the default
// domain's opset Opset, and encodes it.
func (b *builder) model(doc string) ([]byte, error) {
	m := &pb.ModelProto{
		IrVersion:       proto.Int64(IRVersion),
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName:    proto.String("gosiamese"),
		ProducerVersion: proto.String("1"),
		DocString:       proto.String(doc),
		Graph:           b.g,
		MetadataProps:   b.props,
	}
	out, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return out, nil
}
