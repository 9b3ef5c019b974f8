package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestShareGradients: in a residual network of this package's ops, the
// activation-sized gradients share fewer buffers than there are of them,
// and every gradient read out of the graph is bit for bit what it is
// without sharing, over two runs.
func TestShareGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := toF32(randDense(rng, 2, 4, 12, 11))
	ws := []*tensor.Dense{toF32(randDense(rng, 8, 4, 3, 3)), toF32(randDense(rng, 8, 8, 3, 3)), toF32(randDense(rng, 8, 8, 1, 1)), toF32(randDense(rng, 8, 8, 3, 3))}
	run := func(share bool) (grads [][]float32, shared, slots int) {
		g := NewGraph(Training, 1)
		var params []*Param
		conv := func(y *G.Node, i, stride int) (*G.Node, error) {
			p := &Param{Name: "w" + string(rune('0'+i)), Value: ws[i].Clone().(*tensor.Dense)}
			params = append(params, p)
			pad := ws[i].Shape()[2] / 2
			y, err := (&Conv2D{Weight: p, Stride: stride, Pad: pad}).Forward(g, y)
			if err != nil {
				return nil, err
			}
			bn := NewBatchNorm("bn"+string(rune('0'+i)), 8)
			return bn.ForwardReLU(g, y)
		}
		in := &Param{Name: "x", Value: x.Clone().(*tensor.Dense)}
		params = append(params, in)
		y, err := conv(g.Node(in), 0, 1)
		if err == nil {
			y, err = MaxPool{Kernel: 3, Stride: 2, Pad: 1}.Forward(y)
		}
		var a, b *G.Node
		if err == nil {
			a, err = conv(y, 1, 1)
		}
		if err == nil {
			b, err = conv(a, 2, 1)
		}
		if err == nil {
			y, err = AddReLU(b, y) // a residual connection: two gradients meet
		}
		if err == nil {
			y, err = conv(y, 3, 2)
		}
		var loss *G.Node
		if err == nil {
			loss, err = G.Sum(y)
		}
		if err != nil {
			t.Fatal(err)
		}
		nodes := make([]*G.Node, len(params))
		for i, p := range params {
			nodes[i] = g.Node(p)
		}
		gs, err := G.Grad(loss, nodes...)
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]G.Value, len(gs))
		for i := range gs {
			G.Read(gs[i], &vals[i])
		}
		var vm G.VM
		if share {
			vm = NewTapeMachine(g)
		} else {
			vm = G.NewTapeMachine(g.G)
		}
		defer vm.Close()
		seen := map[any]bool{}
		for _, n := range g.G.AllNodes() {
			if b := shareable(n.Op()); b != nil {
				shared++
				if sl := b.Out.Slot(); sl != nil {
					seen[sl] = true
				}
			}
		}
		for range 2 {
			if err := Run(vm); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range vals {
			grads = append(grads, append([]float32(nil), v.Data().([]float32)...))
		}
		return grads, shared, len(seen)
	}
	want, _, none := run(false)
	got, n, slots := run(true)
	if none != 0 || slots == 0 || slots >= n {
		t.Fatalf("%d activation-sized gradients in %d shared buffers (%d without sharing)", n, slots, none)
	}
	t.Logf("%d activation-sized gradients in %d shared buffers", n, slots)
	for i := range want {
		for j := range want[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("gradient %d, element %d: %g with shared buffers, %g without", i, j, got[i][j], want[i][j])
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d activation-sized gradients in the graph", n)
	}
}
