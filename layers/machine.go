package layers

import (
	"sync"

	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
)

// compiling is held for writing while a tape machine is compiled and for
// reading while one runs. Compiling (gorgonia.NewTapeMachine) sets the
// engine of every tensor bound to the graph, and parameters are bound to
// many graphs at once, so compiling one graph while another runs on the
// same parameters would be a data race.
var compiling sync.RWMutex

// NewTapeMachine compiles g as gorgonia.NewTapeMachine does, waiting for
// machines started with Run to finish first. Gradients the size of
// activations share buffers where their lifetimes allow (shareGradients).
func NewTapeMachine(g *Graph, opts ...G.VMOpt) G.VM {
	compiling.Lock()
	defer compiling.Unlock()
	shareGradients(g)
	return G.NewTapeMachine(g.G, append([]G.VMOpt{G.WithEngine(graphop.Engine)}, opts...)...)
}

// Run resets vm and runs it once. Any number of machines may run at the
// same time (each on its own goroutine); compiling waits for them.
func Run(vm G.VM) error {
	compiling.RLock()
	defer compiling.RUnlock()
	vm.Reset()
	return vm.RunAll()
}

// KeepOutputs makes every op of this package in g write each run's output
// into the tensor of the run before, so that running g again allocates
// nothing and leaves nothing for the collector. Ops of a differentiated
// graph do so already. Call it on a graph whose outputs callers copy
// before the next run (an inference graph that is run again and again):
// a value read from g after a run is overwritten by the next run.
func KeepOutputs(g *Graph) {
	for _, n := range g.G.AllNodes() {
		if k, ok := n.Op().(interface{ Keep() }); ok {
			k.Keep()
		}
	}
}

// Read returns a value box that each run of a machine compiled from n's
// graph fills with n's value, as gorgonia.Read(n, into) does. The box is an
// allocation of its own, and a caller must keep it so, never reading into a
// field of a struct that also holds the machine: Gorgonia's tape machines
// carry a finalizer, and Go never collects a cycle of objects that holds
// one, so gorgonia.Read(y, &s.out) with s.vm the machine keeps the machine,
// its graph and every buffer of the network alive for good, even after s
// is dropped (a cached inference graph the cache evicts, a training graph
// when training ends).
func Read(n *G.Node) *G.Value {
	v := new(G.Value)
	G.Read(n, v)
	return v
}
