package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gosiamese/gosiamese/internal/gradcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refDist is the Euclidean distance of rows i and j of emb (N×d).
func refDist(emb []float64, d, i, j int) float64 {
	var s float64
	for k := range d {
		s += math.Pow(emb[i*d+k]-emb[j*d+k], 2)
	}
	return math.Sqrt(s + 1e-12)
}

// refTripletAll lists the loss of every valid triplet (a ≠ p same class,
// n other class) by brute force.
func refTripletAll(emb, lab []float64, margin float64) []float64 {
	n, d := len(lab), len(emb)/len(lab)
	var ls []float64
	for a := range n {
		for p := range n {
			for q := range n {
				if a != p && lab[a] == lab[p] && lab[a] != lab[q] {
					ls = append(ls, refDist(emb, d, a, p)-refDist(emb, d, a, q)+margin)
				}
			}
		}
	}
	return ls
}

// refTriplet is Triplet by brute force.
func refTriplet(emb, lab []float64, margin float64, mining Mining) float64 {
	n, d := len(lab), len(emb)/len(lab)
	var sum float64
	var count int
	switch mining {
	case BatchAll:
		for _, l := range refTripletAll(emb, lab, margin) {
			if l > 0 {
				sum += l
				count++
			}
		}
	case BatchHard:
		for a := range n {
			hp, hn := math.Inf(-1), math.Inf(1)
			for j := range n {
				if j != a && lab[j] == lab[a] {
					hp = math.Max(hp, refDist(emb, d, a, j))
				}
				if lab[j] != lab[a] {
					hn = math.Min(hn, refDist(emb, d, a, j))
				}
			}
			if !math.IsInf(hp, 0) && !math.IsInf(hn, 0) {
				sum += math.Max(0, hp-hn+margin)
				count++
			}
		}
	}
	if count == 0 {
		return 0
	}
	return sum / float64(count)
}

// tripletBatch returns N=8 random embeddings of D=5 and labels of three
// classes.
func tripletBatch(seed uint64) (emb, lab []float64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	return uniform(rng, 8*5, -1, 1), []float64{0, 1, 2, 0, 1, 1, 2, 0}
}

func tripletOf(t *testing.T, dt tensor.Dtype, emb, lab []float64, margin float64, mining Mining) (float64, []float64) {
	t.Helper()
	n := len(lab)
	g := G.NewGraph()
	e := input(g, dt, "emb", emb, n, len(emb)/n)
	y := input(g, dt, "labels", lab, n)
	l, err := Triplet(e, y, margin, mining)
	if err != nil {
		t.Fatal(err)
	}
	got, grads := eval(t, g, l, e)
	return got[0], grads[0]
}

func TestTripletValue(t *testing.T) {
	emb, lab := tripletBatch(13)
	for _, mining := range []Mining{BatchAll, BatchHard} {
		for _, margin := range []float64{0, 0.2, 0.5, 3} {
			want := refTriplet(emb, lab, margin, mining)
			if want == 0 {
				t.Fatalf("%v margin %v: reference loss 0; pick a batch with active triplets", mining, margin)
			}
			var grad64 []float64
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				rel := 1e-13
				if dt == tensor.Float32 {
					rel = 1e-5
				}
				got, grad := tripletOf(t, dt, emb, lab, margin, mining)
				if !near(got, want, rel, 0) {
					t.Errorf("%v %v margin %v: %v, want %v", dt, mining, margin, got, want)
				}
				if dt == tensor.Float64 {
					grad64 = grad
					continue
				}
				for i := range grad {
					if !near(grad[i], grad64[i], 1e-4, 1e-6) {
						t.Errorf("%v margin %v: float32 gradient %d is %v, float64 %v", mining, margin, i, grad[i], grad64[i])
					}
				}
			}
		}
	}
}

func TestTripletGrad(t *testing.T) {
	emb, lab := tripletBatch(13)
	const margin = 0.5
	// Central differences need every triplet's loss clear of the hinge,
	// since batch-all divides by the number of positive ones.
	for _, l := range refTripletAll(emb, lab, margin) {
		if math.Abs(l) < 1e-4 {
			t.Fatalf("a triplet loss of %v sits on the hinge; pick another batch", l)
		}
	}
	for _, mining := range []Mining{BatchAll, BatchHard} {
		t.Run(mining.String(), func(t *testing.T) {
			for _, shape := range [][]int{{8}, {8, 1}} {
				g := G.NewGraph()
				e := input(g, tensor.Float64, "emb", emb, 8, 5)
				y := input(g, tensor.Float64, "labels", lab, shape...)
				l, err := Triplet(e, y, margin, mining)
				if err != nil {
					t.Fatal(err)
				}
				gradcheck.Check(t, g, G.Nodes{e}, l, nil)
			}
		})
	}
}

// Classes far apart and tight: every triplet already satisfies the margin.
func TestTripletSeparated(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	lab := []float64{0, 1, 2, 0, 1, 2, 0, 1}
	emb := uniform(rng, 8*3, -0.05, 0.05)
	for i, c := range lab {
		emb[i*3+int(c)] += 10
	}
	for _, l := range refTripletAll(emb, lab, 1) {
		if l >= 0 {
			t.Fatalf("setup: triplet loss %v is not negative", l)
		}
	}
	for _, mining := range []Mining{BatchAll, BatchHard} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			got, grad := tripletOf(t, dt, emb, lab, 1, mining)
			if got != 0 {
				t.Errorf("%v %v: loss %v, want 0", dt, mining, got)
			}
			for i, x := range grad {
				if x != 0 {
					t.Errorf("%v %v: gradient element %d is %v, want 0", dt, mining, i, x)
				}
			}
		}
	}
}

// Batches without a valid triplet: one class, or every row its own.
func TestTripletNoTriplets(t *testing.T) {
	emb, _ := tripletBatch(17)
	for name, lab := range map[string][]float64{
		"one class":   {4, 4, 4, 4, 4, 4, 4, 4},
		"all classes": {0, 1, 2, 3, 4, 5, 6, 7},
	} {
		for _, mining := range []Mining{BatchAll, BatchHard} {
			got, grad := tripletOf(t, tensor.Float64, emb, lab, 1, mining)
			if got != 0 {
				t.Errorf("%s %v: loss %v, want 0", name, mining, got)
			}
			for i, x := range grad {
				if x != 0 {
					t.Errorf("%s %v: gradient element %d is %v, want 0", name, mining, i, x)
				}
			}
		}
	}
}

// The two minings with one margin, and one mining with two margins, are
// distinct ops in one graph (Gorgonia merges nodes whose ops hash alike).
func TestTripletDistinctNodes(t *testing.T) {
	emb, lab := tripletBatch(13)
	g := G.NewGraph()
	e := input(g, tensor.Float64, "emb", emb, 8, 5)
	y := input(g, tensor.Float64, "labels", lab, 8)
	type cfg struct {
		margin float64
		mining Mining
	}
	cfgs := []cfg{{0.2, BatchAll}, {0.2, BatchHard}, {0.5, BatchAll}}
	ls := make([]*G.Node, len(cfgs))
	vs := make([]G.Value, len(cfgs))
	for i, c := range cfgs {
		var err error
		if ls[i], err = Triplet(e, y, c.margin, c.mining); err != nil {
			t.Fatal(err)
		}
		G.Read(ls[i], &vs[i])
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, c := range cfgs {
		if got, want := floats(t, vs[i])[0], refTriplet(emb, lab, c.margin, c.mining); !near(got, want, 1e-13, 0) {
			t.Errorf("%v margin %v: %v, want %v", c.mining, c.margin, got, want)
		}
	}
}

func TestTripletErrors(t *testing.T) {
	g := G.NewGraph()
	e := input(g, tensor.Float64, "e", make([]float64, 12), 4, 3)
	y := input(g, tensor.Float64, "y", make([]float64, 4), 4)
	y3 := input(g, tensor.Float64, "y3", make([]float64, 3), 3)
	y42 := input(g, tensor.Float64, "y42", make([]float64, 8), 4, 2)
	y32 := input(g, tensor.Float32, "y32", make([]float64, 4), 4)
	for name, f := range map[string]func() (*G.Node, error){
		"N mismatch":     func() (*G.Node, error) { return Triplet(e, y3, 1, BatchAll) },
		"labels (N, 2)":  func() (*G.Node, error) { return Triplet(e, y42, 1, BatchAll) },
		"emb rank 1":     func() (*G.Node, error) { return Triplet(y, y, 1, BatchHard) },
		"negative":       func() (*G.Node, error) { return Triplet(e, y, -0.1, BatchAll) },
		"NaN margin":     func() (*G.Node, error) { return Triplet(e, y, math.NaN(), BatchAll) },
		"unknown mining": func() (*G.Node, error) { return Triplet(e, y, 1, Mining(7)) },
		"mixed dtypes":   func() (*G.Node, error) { return Triplet(e, y32, 1, BatchAll) },
		"nil labels":     func() (*G.Node, error) { return Triplet(e, nil, 1, BatchAll) },
	} {
		n, err := f()
		wantErr(t, name, n, err)
	}
	if s := fmt.Sprint(BatchAll, BatchHard, Mining(7)); s != "BatchAll BatchHard Mining(7)" {
		t.Errorf("Mining strings: %q", s)
	}
}
