package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mode says how a graph uses the layers that are attached to it.
type Mode int

const (
	// Inference uses BatchNorm's running statistics and never applies Dropout.
	Inference Mode = iota
	// Training uses batch statistics in BatchNorm (and updates the running
	// statistics), and applies Dropout.
	Training
)

func (m Mode) String() string {
	switch m {
	case Inference:
		return "inference"
	case Training:
		return "training"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Param is a named tensor owned by a layer: a learnable weight, or state such
// as BatchNorm's running statistics. Its Value is bound by pointer to every
// graph the layer is attached to, so an optimiser step that updates Value in
// place is seen by all of them.
type Param struct {
	// Name is the parameter's key in weight files, in torchvision's
	// convention ("layer1.0.conv1.weight").
	Name string
	// Value holds the data.
	Value *tensor.Dense
	// State marks a tensor that is saved with the model but never learned
	// (BatchNorm's running mean and variance).
	State bool
	// Frozen marks a learnable parameter that is not being trained: graphs
	// leave it out of Learnables, so no gradient is computed for it.
	Frozen bool

	panels *weightPanels // the weights packed for inference, made on first use
}

// NewParam returns a zero-filled float32 parameter of the given shape.
func NewParam(name string, shape ...int) *Param {
	return NewParamOf(tensor.Float32, name, shape...)
}

// NewParamOf returns a zero-filled parameter of the given dtype and shape.
func NewParamOf(dt tensor.Dtype, name string, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(tensor.Of(dt), tensor.WithShape(shape...))}
}

// Graph is one Gorgonia expression graph together with its mode. Layers are
// attached to a Graph with their Forward methods. A layer attached twice to
// the same Graph uses the same parameter nodes (gradients from both uses are
// summed); a layer attached to several Graphs shares its parameter values
// with all of them.
type Graph struct {
	// G is the underlying expression graph.
	G *G.ExprGraph
	// Mode is Training or Inference.
	Mode Mode

	seed       uint64
	nextID     uint64
	nextStream uint64
	clock      stepClock
	nodes      map[*tensor.Dense]*G.Node
	names      map[string]int
	params     []*Param
}

// NewGraph returns an empty graph in the given mode. seed drives every
// random choice made while the graph runs (Dropout masks): two graphs built
// the same way with the same seed produce the same masks.
func NewGraph(mode Mode, seed uint64) *Graph {
	return &Graph{
		G:     G.NewGraph(),
		Mode:  mode,
		seed:  seed,
		nodes: make(map[*tensor.Dense]*G.Node),
		names: make(map[string]int),
	}
}

// Node returns the graph node bound to p, creating it on first use.
func (g *Graph) Node(p *Param) *G.Node {
	if n, ok := g.nodes[p.Value]; ok {
		return n
	}
	name := p.Name
	// Gorgonia merges input nodes with equal names and shapes; keep names
	// unique so that two different tensors never collapse into one node.
	if k := g.names[name]; k > 0 {
		name = fmt.Sprintf("%s#%d", name, k)
	}
	g.names[p.Name]++
	n := G.NodeFromAny(g.G, p.Value, G.WithName(name))
	g.nodes[p.Value] = n
	g.params = append(g.params, p)
	return n
}

// Params returns the parameters bound to the graph, in the order they were
// first used.
func (g *Graph) Params() []*Param { return append([]*Param(nil), g.params...) }

// Learnables returns the nodes of the bound parameters that are neither
// State nor Frozen, in the order they were first used, and the parameters
// themselves.
func (g *Graph) Learnables() (G.Nodes, []*Param) {
	var ns G.Nodes
	var ps []*Param
	for _, p := range g.params {
		if p.State || p.Frozen {
			continue
		}
		ns = append(ns, g.nodes[p.Value])
		ps = append(ps, p)
	}
	return ns, ps
}

// stepClock is the training step a graph is running, shared with its
// random ops.
type stepClock struct {
	set  bool
	step uint64
}

// SetStep tells the graph which training step its next run is. Random
// masks (Dropout) then depend only on the graph's seed and the step, so a
// run resumed at step s draws what an uninterrupted run drew at step s.
// Without SetStep, each run draws the next masks of the graph's stream.
func (g *Graph) SetStep(step uint64) {
	g.clock = stepClock{set: true, step: step}
}

// newStream returns the number of the next random stream. Random ops
// count apart from other ops, so that a graph's masks depend only on the
// order of its random ops (the same with or without an encoder in front).
func (g *Graph) newStream() uint64 {
	g.nextStream++
	return g.nextStream
}

// newID returns a number unique within the graph, used to give stateful ops
// distinct hashes (Gorgonia merges nodes with equal hashes) and distinct
// random streams.
func (g *Graph) newID() uint64 {
	g.nextID++
	return g.nextID
}
