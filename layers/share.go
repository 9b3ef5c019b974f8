package layers

import (
	"fmt"
	"strings"

	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// shareGradients lets the gradient ops of g whose outputs are as large as
// activations (the gradients with respect to the input of a convolution,
// a BatchNorm, a ReLU or a max pool) write into a few shared buffers
// instead of one each. A tape machine holds every value until it is
// reset, so without sharing a training step would hold the gradient of
// every activation at once, about as much memory again as the activations;
// each is needed only until the ops that read it have run.
//
// A gradient's last use is found from the order the tape machine runs the
// nodes in (the reverse of gorgonia.Sort, as gorgonia.Compile does),
// following it through Gorgonia's own ops, which may write their result
// over an input; a gradient read out of the graph (gorgonia.Read) keeps
// a buffer of its own. Buffers are given out greedily, in running order,
// to gradients whose lifetimes do not overlap.
func shareGradients(g *Graph) {
	sorted, err := G.Sort(g.G)
	if err != nil {
		return
	}
	pos := make(map[*G.Node]int, len(sorted))
	for i, n := range sorted {
		pos[n] = len(sorted) - 1 - i
	}
	type slot struct {
		s    *graphop.Slot
		busy int // position of the last op that reads what it holds
		size int
	}
	var slots []*slot
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		op := shareable(n.Op())
		if op == nil {
			continue
		}
		end, ok := lastUse(g, n, pos)
		if !ok {
			continue
		}
		size := n.Shape().TotalSize()
		// the smallest free slot that holds it, else the largest free one
		var pick *slot
		for _, s := range slots {
			if s.busy >= pos[n] {
				continue
			}
			switch {
			case pick == nil:
				pick = s
			case pick.size < size && s.size > pick.size:
				pick = s
			case s.size >= size && s.size < pick.size:
				pick = s
			}
		}
		if pick == nil {
			pick = &slot{s: new(graphop.Slot)}
			slots = append(slots, pick)
		}
		pick.busy, pick.size = end, max(pick.size, size)
		op.Share(pick.s)
	}
}

// shareable returns the op's base when its output is a gradient the size
// of an activation.
func shareable(op G.Op) *opBase {
	switch o := op.(type) {
	case *convGradOp:
		if o.which == 0 {
			return &o.opBase
		}
	case *bnGradOp:
		if o.which == bnGradX {
			return &o.opBase
		}
	case *reluGradOp:
		return &o.opBase
	case *maxPoolGradOp:
		return &o.opBase
	}
	return nil
}

// lastUse returns the running position of the last op that reads n's
// output, directly or through Gorgonia ops that may have written their
// result over it, and false when the value is read out of the graph.
func lastUse(g *Graph, n *G.Node, pos map[*G.Node]int) (int, bool) {
	end, ok := pos[n]
	if !ok {
		return 0, false
	}
	seen := map[*G.Node]bool{n: true}
	stack := []*G.Node{n}
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		to := g.G.To(m.ID())
		for to.Next() {
			c := to.Node().(*G.Node)
			if seen[c] {
				continue
			}
			seen[c] = true
			p, ok := pos[c]
			if !ok || isRead(c.Op()) {
				return 0, false
			}
			end = max(end, p)
			// the project's ops (graphop.Base) never write over an input
			if _, ours := c.Op().(interface {
				NewOutput(tensor.Dtype, tensor.Shape) *tensor.Dense
			}); !ours {
				stack = append(stack, c)
			}
		}
	}
	return end, true
}

// isRead reports whether op is gorgonia.Read's, which hands the value to
// the caller.
func isRead(op G.Op) bool { return strings.HasSuffix(fmt.Sprintf("%T", op), ".readOp") }
