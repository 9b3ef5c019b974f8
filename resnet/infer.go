package resnet

import (
	"fmt"
	"sync"

	"github.com/gosiamese/gosiamese/internal/lru"
	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// inferGraph is a compiled inference graph for one input shape.
type inferGraph struct {
	x   *G.Node
	out *G.Value // layers.Read
	vm  G.VM
}

// MaxInferGraphs is the most compiled inference graphs Infer keeps, one per
// input shape, dropping the least recently used one beyond that: each
// holds the whole network's buffers.
const MaxInferGraphs = 4

// inferCache holds the compiled inference graphs of recent input shapes.
type inferCache struct {
	mu     sync.Mutex
	graphs lru.Cache[string, *inferGraph]
}

// Infer runs the encoder in inference mode (BatchNorm on running
// statistics) on x of shape (N, InChannels, H, W) and returns the output
// with its shape: (N, Features) when pooled. Graphs are compiled once per
// input shape and reused (MaxInferGraphs of them). Infer is safe for concurrent use; calls are
// serialised.
func (e *Encoder) Infer(x *tensor.Dense) ([]float32, tensor.Shape, error) {
	if x == nil || x.Dtype() != tensor.Float32 || x.Dims() != 4 {
		return nil, nil, fmt.Errorf("resnet: Infer wants a float32 (N, C, H, W) tensor")
	}
	if y, s, ok, err := e.inferOneDNN(x, FP32); ok {
		return y, s, err
	}
	e.infer.mu.Lock()
	defer e.infer.mu.Unlock()
	key := fmt.Sprint(x.Shape())
	ig, ok := e.infer.graphs.Get(key)
	if !ok {
		g := layers.NewGraph(layers.Inference, 0)
		xn := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(x.Shape()...), G.WithName("input"))
		y, err := e.Forward(g, xn)
		if err != nil {
			return nil, nil, err
		}
		ig = &inferGraph{x: xn}
		ig.out = layers.Read(y)
		layers.KeepOutputs(g) // the output is copied out below
		ig.vm = layers.NewTapeMachine(g)
		e.infer.graphs.Max = MaxInferGraphs
		e.infer.graphs.Put(key, ig)
	}
	if err := G.Let(ig.x, x); err != nil {
		return nil, nil, fmt.Errorf("resnet: %w", err)
	}
	if err := layers.Run(ig.vm); err != nil {
		return nil, nil, fmt.Errorf("resnet: %w", err)
	}
	out := (*ig.out).(*tensor.Dense)
	return append([]float32(nil), out.Data().([]float32)...), out.Shape().Clone(), nil
}
