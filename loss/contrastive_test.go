package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/internal/gradcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// paperContrastive is Hadsell, Chopra & LeCun's (2006) loss for one pair
// in their notation: Y = 1 for a dissimilar pair.
func paperContrastive(dw, bigY, m float64) float64 {
	return (1-bigY)*0.5*dw*dw + bigY*0.5*math.Pow(math.Max(0, m-dw), 2)
}

func contrastiveOf(t *testing.T, dt tensor.Dtype, dists, labels []float64, margin float64) float64 {
	t.Helper()
	g := G.NewGraph()
	d := input(g, dt, "d", dists, len(dists))
	y := input(g, dt, "y", labels, len(labels))
	l, err := Contrastive(d, y, margin)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := eval(t, g, l)
	return got[0]
}

func TestContrastiveValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n, margin = 12, 1.3
	ds, ys := uniform(rng, n, 0, 2.5), make([]float64, n)
	for i := range ys {
		ys[i] = float64(i % 2)
	}
	ys[n-1] = 0.25 // a soft label weighs both terms
	var want float64
	for i := range ds {
		want += (ys[i]*paperContrastive(ds[i], 0, margin) + (1-ys[i])*paperContrastive(ds[i], 1, margin)) / n
	}
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		rel := 1e-14
		if dt == tensor.Float32 {
			rel = 1e-6
		}
		if got := contrastiveOf(t, dt, ds, ys, margin); !near(got, want, rel, 0) {
			t.Errorf("%v: %v, want %v", dt, got, want)
		}
	}
}

func TestContrastiveCases(t *testing.T) {
	const margin = 2.0
	// Identical embeddings labelled same cost nothing (up to Eps).
	g := G.NewGraph()
	e := []float64{0.3, -1, 4, 0.3, -1, 4}
	a := input(g, tensor.Float64, "a", e[:3], 1, 3)
	b := input(g, tensor.Float64, "b", e[3:], 1, 3)
	d, err := EuclideanDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	same := input(g, tensor.Float64, "same", []float64{1}, 1)
	l, err := Contrastive(d, same, margin)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := eval(t, g, l)
	if got[0] < 0 || got[0] > 1e-12 {
		t.Errorf("identical embeddings, label 1: %v, want 0", got[0])
	}
	// The same identical embeddings labelled different cost ½margin².
	g = G.NewGraph()
	a = input(g, tensor.Float64, "a", e[:3], 1, 3)
	b = input(g, tensor.Float64, "b", e[3:], 1, 3)
	if d, err = EuclideanDistance(a, b); err != nil {
		t.Fatal(err)
	}
	diff := input(g, tensor.Float64, "diff", []float64{0}, 1)
	if l, err = Contrastive(d, diff, margin); err != nil {
		t.Fatal(err)
	}
	if got, _ = eval(t, g, l); !near(got[0], margin*margin/2, 1e-5, 0) {
		t.Errorf("identical embeddings, label 0: %v, want %v", got[0], margin*margin/2)
	}
	// Directly on distances.
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		if got := contrastiveOf(t, dt, []float64{0, 0, 0}, []float64{1, 1, 1}, margin); got != 0 {
			t.Errorf("%v: distance 0, label 1: %v, want 0", dt, got)
		}
		if got := contrastiveOf(t, dt, []float64{2.5, 7, 2}, []float64{0, 0, 0}, margin); got != 0 {
			t.Errorf("%v: label 0 beyond the margin: %v, want 0", dt, got)
		}
		if got := contrastiveOf(t, dt, []float64{0}, []float64{0}, margin); got != margin*margin/2 {
			t.Errorf("%v: label 0 at distance 0: %v, want %v", dt, got, margin*margin/2)
		}
		// label 1 at distance 3: ½·9; label 0 at 0.5: ½·1.5²; mean of two.
		if got, want := contrastiveOf(t, dt, []float64{3, 0.5}, []float64{1, 0}, margin), (4.5+1.125)/2; got != want {
			t.Errorf("%v: %v, want %v", dt, got, want)
		}
	}
}

func TestContrastiveGrad(t *testing.T) {
	const margin = 1.0
	// Distances in (0.1, 2.4), none within 0.1 of the margin's kink.
	ds := []float64{0.15, 0.4, 0.7, 0.85, 1.2, 1.5, 2.3, 0.3, 1.9, 0.6}
	ys := []float64{1, 0, 1, 0, 0, 1, 0, 0, 1, 0.3}
	for _, shape := range [][]int{{10}, {10, 1}} {
		g := G.NewGraph()
		d := input(g, tensor.Float64, "d", ds, shape...)
		y := input(g, tensor.Float64, "y", ys, shape...)
		l, err := Contrastive(d, y, margin)
		if err != nil {
			t.Fatal(err)
		}
		gradcheck.Check(t, g, G.Nodes{d}, l, nil)
	}
}

// Through EuclideanDistance down to the embeddings. ½max(0, m-d)² has a
// continuous derivative, so label 0 pairs on either side of the margin are
// fine.
func TestContrastiveEmbeddingGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	g := G.NewGraph()
	a := input(g, tensor.Float64, "a", uniform(rng, 24, -1, 1), 6, 4)
	b := input(g, tensor.Float64, "b", uniform(rng, 24, -1, 1), 6, 4)
	y := input(g, tensor.Float64, "y", []float64{1, 0, 1, 0, 0, 1}, 6)
	d, err := EuclideanDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Contrastive(d, y, 2)
	if err != nil {
		t.Fatal(err)
	}
	gradcheck.Check(t, g, G.Nodes{a, b}, l, nil)
}

func TestContrastiveErrors(t *testing.T) {
	g := G.NewGraph()
	d := input(g, tensor.Float64, "d", make([]float64, 4), 4)
	y3 := input(g, tensor.Float64, "y3", make([]float64, 3), 3)
	m := input(g, tensor.Float64, "m", make([]float64, 8), 4, 2)
	for name, f := range map[string]func() (*G.Node, error){
		"N mismatch":  func() (*G.Node, error) { return Contrastive(d, y3, 1) },
		"(N, 2)":      func() (*G.Node, error) { return Contrastive(m, d, 1) },
		"margin 0":    func() (*G.Node, error) { return Contrastive(d, d, 0) },
		"margin < 0":  func() (*G.Node, error) { return Contrastive(d, d, -1) },
		"margin NaN":  func() (*G.Node, error) { return Contrastive(d, d, math.NaN()) },
		"margin +Inf": func() (*G.Node, error) { return Contrastive(d, d, math.Inf(1)) },
		"nil dist":    func() (*G.Node, error) { return Contrastive(nil, d, 1) },
	} {
		n, err := f()
		wantErr(t, name, n, err)
	}
}

// refContrastiveBatch is ContrastiveBatch by brute force, with the paper's
// per-pair loss (Y = 1 for a pair of different classes).
func refContrastiveBatch(emb, lab []float64, margin float64) float64 {
	n, d := len(lab), len(emb)/len(lab)
	var sum float64
	var pairs int
	for i := range n {
		for j := i + 1; j < n; j++ {
			bigY := 1.0
			if lab[i] == lab[j] {
				bigY = 0
			}
			sum += paperContrastive(refDist(emb, d, i, j), bigY, margin)
			pairs++
		}
	}
	return sum / float64(pairs)
}

func TestContrastiveBatchValue(t *testing.T) {
	emb, lab := tripletBatch(19)
	for _, margin := range []float64{0.5, 1.5, 4} {
		want := refContrastiveBatch(emb, lab, margin)
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			rel := 1e-13
			if dt == tensor.Float32 {
				rel = 1e-5
			}
			g := G.NewGraph()
			e := input(g, dt, "emb", emb, 8, 5)
			y := input(g, dt, "labels", lab, 8)
			l, err := ContrastiveBatch(e, y, margin)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := eval(t, g, l); !near(got[0], want, rel, 0) {
				t.Errorf("%v margin %v: %v, want %v", dt, margin, got[0], want)
			}
		}
	}
	// Two rows: one pair. Same class at distance 5 (3-4-5): ½·25;
	// different classes at distance 5 with margin 6: ½·1.
	for _, c := range []struct{ lab, want float64 }{{0, 12.5}, {1, 0.5}} {
		g := G.NewGraph()
		e := input(g, tensor.Float64, "emb", []float64{0, 0, 3, 4}, 2, 2)
		y := input(g, tensor.Float64, "labels", []float64{0, c.lab}, 2)
		l, err := ContrastiveBatch(e, y, 6)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := eval(t, g, l); !near(got[0], c.want, 1e-9, 0) {
			t.Errorf("labels 0 and %v: %v, want %v", c.lab, got[0], c.want)
		}
	}
}

func TestContrastiveBatchGrad(t *testing.T) {
	emb, lab := tripletBatch(19)
	const margin = 1.5
	// Central differences need every different-class pair clear of the
	// hinge at margin.
	for i := range lab {
		for j := i + 1; j < len(lab); j++ {
			if lab[i] != lab[j] && math.Abs(refDist(emb, 5, i, j)-margin) < 1e-4 {
				t.Fatalf("pair %d, %d sits on the hinge; pick another batch", i, j)
			}
		}
	}
	for _, shape := range [][]int{{8}, {8, 1}} {
		g := G.NewGraph()
		e := input(g, tensor.Float64, "emb", emb, 8, 5)
		y := input(g, tensor.Float64, "labels", lab, shape...)
		l, err := ContrastiveBatch(e, y, margin)
		if err != nil {
			t.Fatal(err)
		}
		gradcheck.Check(t, g, G.Nodes{e}, l, nil)
	}
}

func TestContrastiveBatchErrors(t *testing.T) {
	g := G.NewGraph()
	e := input(g, tensor.Float64, "e", make([]float64, 12), 4, 3)
	e1 := input(g, tensor.Float64, "e1", make([]float64, 3), 1, 3)
	y := input(g, tensor.Float64, "y", make([]float64, 4), 4)
	y1 := input(g, tensor.Float64, "y1", make([]float64, 1), 1)
	y3 := input(g, tensor.Float64, "y3", make([]float64, 3), 3)
	for name, f := range map[string]func() (*G.Node, error){
		"N mismatch":  func() (*G.Node, error) { return ContrastiveBatch(e, y3, 1) },
		"one row":     func() (*G.Node, error) { return ContrastiveBatch(e1, y1, 1) },
		"zero margin": func() (*G.Node, error) { return ContrastiveBatch(e, y, 0) },
		"nil emb":     func() (*G.Node, error) { return ContrastiveBatch(nil, y, 1) },
	} {
		n, err := f()
		wantErr(t, name, n, err)
	}
}
