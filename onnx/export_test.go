package onnx

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	pb "github.com/gosiamese/gosiamese/onnx/internal/onnxpb"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"google.golang.org/protobuf/proto"
)

func tinyModel(t *testing.T, edit func(*siamese.Config)) *siamese.Model {
	t.Helper()
	c := siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Hidden: []int{16}, Input: preprocess.Config{Size: 32}, Seed: 1}
	if edit != nil {
		edit(&c)
	}
	m, err := siamese.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decode parses an exported file.
func decode(t *testing.T, b []byte) *pb.ModelProto {
	t.Helper()
	var m pb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// signature writes a graph's inputs and outputs as "image[N,3,32,32] ->
// embedding[N,16]".
func signature(g *pb.GraphProto) string {
	side := func(vs []*pb.ValueInfoProto) string {
		var out []string
		for _, v := range vs {
			var dims []string
			for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
				if p := d.GetDimParam(); p != "" {
					dims = append(dims, p)
				} else {
					dims = append(dims, strconv.FormatInt(d.GetDimValue(), 10))
				}
			}
			out = append(out, v.GetName()+"["+strings.Join(dims, ",")+"]")
		}
		return strings.Join(out, " ")
	}
	return side(g.GetInput()) + " -> " + side(g.GetOutput())
}

// wellFormed reports the first node input that nothing before it
// produces, a name produced twice, or a graph output never produced.
func wellFormed(g *pb.GraphProto) string {
	known := map[string]bool{}
	for _, v := range g.GetInput() {
		known[v.GetName()] = true
	}
	for _, i := range g.GetInitializer() {
		if known[i.GetName()] {
			return "initializer " + i.GetName() + " twice"
		}
		known[i.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			if !known[in] {
				return n.GetName() + " reads " + in + ", which nothing before it makes"
			}
		}
		for _, o := range n.GetOutput() {
			if known[o] {
				return o + " is made twice"
			}
			known[o] = true
		}
	}
	for _, o := range g.GetOutput() {
		if !known[o.GetName()] {
			return "output " + o.GetName() + " is never made"
		}
	}
	return ""
}

func TestExportSignatures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*siamese.Config)
		pair  bool
		opts  Options
		want  string
		meta  string
		count map[string]int
	}{
		{"encoder", nil, false, Options{}, "image[N,3,32,32] -> embedding[N,16]", "encoder",
			map[string]int{"Conv": 20, "Add": 8, "Gemm": 1, "GlobalAveragePool": 1, "MaxPool": 1}},
		{"search vectors", nil, false, Options{SearchVectors: true}, "image[N,3,32,32] -> embedding[N,16]", "search vectors",
			map[string]int{"Conv": 20, "Gemm": 1, "Mul": 1}},
		{"model", nil, true, Options{}, "image_a[N,3,32,32] image_b[N,3,32,32] -> score[N,1] logit[N,1]", "model",
			map[string]int{"Conv": 40, "Gemm": 3, "Abs": 1, "Sigmoid": 1}},
		{"cosine, grey, no hidden layer", func(c *siamese.Config) {
			c.Distance, c.Hidden, c.Input.Channels = siamese.Cosine, []int{}, 1
		}, true, Options{}, "image_a[N,1,32,32] image_b[N,1,32,32] -> score[N,1] logit[N,1]", "model",
			map[string]int{"Gemm": 1, "ReduceSumSquare": 2, "ReduceSum": 1}},
		{"bottleneck, flattened", func(c *siamese.Config) {
			c.Encoder = resnet.Config{Depth: 50, Width: 4, Pooling: resnet.PoolNone}
		}, false, Options{}, "image[N,3,32,32] -> embedding[N,16]", "encoder",
			map[string]int{"Conv": 53, "Add": 16, "Flatten": 1, "GlobalAveragePool": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(t, tc.edit)
			var buf bytes.Buffer
			export := ExportEncoder
			if tc.pair {
				export = ExportModel
			}
			if err := export(&buf, m, tc.opts); err != nil {
				t.Fatal(err)
			}
			f := decode(t, buf.Bytes())
			if f.GetIrVersion() != IRVersion || len(f.GetOpsetImport()) != 1 || f.GetOpsetImport()[0].GetVersion() != Opset || f.GetOpsetImport()[0].GetDomain() != "" {
				t.Errorf("IR version %d, opsets %v, want %d and the default domain's %d", f.GetIrVersion(), f.GetOpsetImport(), IRVersion, Opset)
			}
			if got := signature(f.GetGraph()); got != tc.want {
				t.Errorf("signature %s, want %s", got, tc.want)
			}
			if msg := wellFormed(f.GetGraph()); msg != "" {
				t.Error(msg)
			}
			count := map[string]int{}
			for _, n := range f.GetGraph().GetNode() {
				count[n.GetOpType()]++
			}
			for op, want := range tc.count {
				if count[op] != want {
					t.Errorf("%d %s nodes, want %d", count[op], op, want)
				}
			}
			for _, op := range []string{"BatchNormalization", "Dropout"} {
				if count[op] != 0 {
					t.Errorf("%d %s nodes, want none at inference", count[op], op)
				}
			}
			meta := map[string]string{}
			for _, p := range f.GetMetadataProps() {
				meta[p.GetKey()] = p.GetValue()
			}
			if meta["gosiamese.graph"] != tc.meta || meta["gosiamese.search_metric"] != m.SearchMetric() || !strings.Contains(meta["gosiamese.preprocess"], `"Size":32`) {
				t.Errorf("metadata %v", meta)
			}
		})
	}
}

func TestExportTowers(t *testing.T) {
	export := func(m *siamese.Model, tower siamese.Tower) []byte {
		var buf bytes.Buffer
		if err := ExportEncoder(&buf, m, Options{Tower: tower}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	shared := tinyModel(t, nil)
	if !bytes.Equal(export(shared, siamese.First), export(shared, siamese.Second)) {
		t.Error("shared towers export differently")
	}
	sep := tinyModel(t, func(c *siamese.Config) { c.SeparateTowers = true })
	if bytes.Equal(export(sep, siamese.First), export(sep, siamese.Second)) {
		t.Error("separate towers export the same weights")
	}
	var buf bytes.Buffer
	if err := ExportModel(&buf, sep, Options{}); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, i := range decode(t, buf.Bytes()).GetGraph().GetInitializer() {
		names[strings.SplitN(i.GetName(), ".", 2)[0]] = true
	}
	for _, p := range []string{"encoder", "encoder_b", "head", "head_b", "out"} {
		if !names[p] {
			t.Errorf("the model file has no %s.* initializers (has %v)", p, names)
		}
	}
}

func TestExportRefuses(t *testing.T) {
	var buf bytes.Buffer
	if err := ExportEncoder(&buf, nil, Options{}); err == nil || !strings.HasPrefix(err.Error(), "onnx: ") {
		t.Errorf("nil model: %v", err)
	}
	if err := ExportModel(&buf, tinyModel(t, nil), Options{Tower: 2}); err == nil || !strings.Contains(err.Error(), "tower 2") {
		t.Errorf("tower 2: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written by refused exports", buf.Len())
	}
}
