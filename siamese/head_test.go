package siamese

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestHeadGraphMatchesLogit checks that the head exists once: the logits
// training computes on a graph (Network.Logits) equal the ones scoring
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
			logits, err := m.Network().Logits(g, a, b)
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
				want, err := m.Network().Logit(ea[i*f:(i+1)*f], eb[i*f:(i+1)*f])
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

// TestHeadWeightSharing checks which tower each parameter reaches, by
// changing parameters in place as an optimiser step does: with shared
// towers a change to the encoder or the head changes both towers'
// embeddings alike; with separate towers "head." reaches the first tower
// only and "head_b." the second only. TestWeightSharing checks the
// gradients of the pair graph, which runs both inputs through tower 0, so
// a second tower with a head of its own would go unnoticed there until
// the trained head and the untrained one parted.
func TestHeadWeightSharing(t *testing.T) {
	imgs := []image.Image{noise(21, 40, 40), ramp(48, 40, colorRed), noise(22, 32, 32)}
	embed := func(m *Model) (first, second []Embedding) {
		t.Helper()
		first, err := m.EmbedBatch(imgs)
		if err != nil {
			t.Fatal(err)
		}
		if second, err = m.Network().EmbedImages(Second, imgs); err != nil {
			t.Fatal(err)
		}
		return first, second
	}
	same := func(a, b []Embedding) bool {
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return len(a) == len(b)
	}
	// perturb scales every parameter whose name starts with prefix.
	perturb := func(m *Model, prefix string) {
		t.Helper()
		n := 0
		for _, p := range m.Network().Params() {
			if !p.State && strings.HasPrefix(p.Name, prefix) {
				for i, v := range p.Float32s() {
					p.Float32s()[i] = 1.1*v + 0.01
				}
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no parameter named %s*", prefix)
		}
	}

	shared := tinyModel(t, nil)
	a0, b0 := embed(shared)
	if !same(a0, b0) {
		t.Fatal("shared towers: the two towers embed the same images differently")
	}
	for _, prefix := range []string{"head.", "encoder."} {
		perturb(shared, prefix)
		a, b := embed(shared)
		if same(a, a0) {
			t.Fatalf("shared towers: changing %s* left the first tower's embeddings alone", prefix)
		}
		if !same(a, b) {
			t.Errorf("shared towers: after changing %s*, the two towers embed the same images differently: %v against %v", prefix, a[0][:3], b[0][:3])
		}
		a0 = a
	}

	sep := tinyModel(t, func(c *Config) { c.SeparateTowers = true })
	for _, c := range []struct {
		prefix        string
		first, second bool // whether each tower should change
	}{
		{"head.", true, false},
		{"head_b.", false, true},
		{"encoder.", true, false},
		{"encoder_b.", false, true},
	} {
		a0, b0 := embed(sep)
		perturb(sep, c.prefix)
		a, b := embed(sep)
		if got := !same(a, a0); got != c.first {
			t.Errorf("separate towers: changing %s* changed the first tower: %v, want %v", c.prefix, got, c.first)
		}
		if got := !same(b, b0); got != c.second {
			t.Errorf("separate towers: changing %s* changed the second tower: %v, want %v", c.prefix, got, c.second)
		}
	}
}
