package resnet

import (
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestFreeze(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8, NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	learnables := func() map[string]bool {
		g := layers.NewGraph(layers.Training, 1)
		x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(2, 3, 32, 32), G.WithName("x"))
		if _, err := e.Forward(g, x); err != nil {
			t.Fatal(err)
		}
		_, ps := g.Learnables()
		m := map[string]bool{}
		for _, p := range ps {
			m[p.Name] = true
		}
		return m
	}
	all := learnables()
	if err := e.Freeze(4); err != nil {
		t.Fatal(err)
	}
	some := learnables()
	for name := range all {
		trainable := name[:6] == "layer4" || name[:3] == "fc."
		if some[name] != trainable {
			t.Errorf("Freeze(4): %s learnable=%v, want %v", name, some[name], trainable)
		}
	}
	if err := e.Freeze(Stages); err != nil {
		t.Fatal(err)
	}
	if got := learnables(); len(got) != 2 || !got["fc.weight"] || !got["fc.bias"] {
		t.Errorf("Freeze(Stages) left %d learnables, want fc.weight and fc.bias", len(got))
	}
	// A frozen encoder's BatchNorm keeps its statistics in a training graph.
	before := append([]float32(nil), e.Param("bn1.running_mean").Float32s()...)
	g := layers.NewGraph(layers.Training, 1)
	x := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(2, 3, 32, 32), tensor.WithBacking(make([]float32, 2*3*32*32))), G.WithName("x"))
	for i := range x.Value().Data().([]float32) {
		x.Value().Data().([]float32)[i] = float32(i%13) - 6
	}
	if _, err := e.Forward(g, x); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, v := range e.Param("bn1.running_mean").Float32s() {
		if v != before[i] {
			t.Fatal("a frozen BatchNorm updated its running mean in a training graph")
		}
	}
	if err := e.Freeze(0); err != nil {
		t.Fatal(err)
	}
	if got := learnables(); len(got) != len(all) {
		t.Errorf("Freeze(0) left %d of %d learnables", len(got), len(all))
	}
	if e.Freeze(6) == nil || e.Freeze(-1) == nil {
		t.Error("Freeze accepted a stage count outside 0..5")
	}
}
