package siamese

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestHeadGraphMatchesLogit checks that the head exists once: the logits
// training computes on a graph (HeadLogits) equal the ones scoring
// computes in Go (Logit), for every distance, for output weights as
// initialised and for weights of both signs and of size, as training may
// leave them.
func TestHeadGraphMatchesLogit(t *testing.T) {
	const n = 6
	for _, d := range []Distance{L1, L2, Cosine} {
		for _, weights := range []string{"initial", "mixed-sign"} {
			m := tinyModel(t, func(c *Config) { c.Distance = d })
			rng := rand.New(rand.NewPCG(uint64(d)+1, 17))
			if weights == "mixed-sign" {
				u := m.out.Weight.Float32s()
				for i := range u {
					u[i] = float32(rng.NormFloat64())
				}
				u[0] = -float32(math.Abs(float64(u[0]))) - 0.5 // negative, and the only weight of Cosine
				m.out.Bias.Float32s()[0] = float32(rng.NormFloat64())
			}
			f := m.Config().EmbeddingSize()
			ea := make([]float32, n*f)
			eb := make([]float32, n*f)
			for i := range ea {
				ea[i] = float32(rng.NormFloat64())
				eb[i] = float32(rng.NormFloat64())
			}
			// Pair 0 compares an embedding with itself: every distance is 0.
			copy(eb[:f], ea[:f])

			g := layers.NewGraph(layers.Training, 1)
			a := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(n, f), tensor.WithBacking(ea)), G.WithName("ea"))
			b := G.NodeFromAny(g.G, tensor.New(tensor.WithShape(n, f), tensor.WithBacking(eb)), G.WithName("eb"))
			logits, err := m.HeadLogits(g, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if !logits.Shape().Eq(tensor.Shape{n, 1}) {
				t.Fatalf("%v: logits of shape %v, want (%d, 1)", d, logits.Shape(), n)
			}
			var lv G.Value
			G.Read(logits, &lv)
			vm := layers.NewTapeMachine(g)
			if err := layers.Run(vm); err != nil {
				t.Fatal(err)
			}
			vm.Close()
			graph := lv.Data().([]float32)
			for i := range n {
				want, err := m.Logit(ea[i*f:(i+1)*f], eb[i*f:(i+1)*f])
				if err != nil {
					t.Fatal(err)
				}
				// The graph runs in float32, Logit in float64.
				if got := float64(graph[i]); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("%v, %s weights, pair %d: training graph's logit %.7g, Model.Logit %.7g", d, weights, i, got, want)
				}
			}
		}
	}
}
