package index

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/gosiamese/gosiamese/siamese"
)

var metrics = []siamese.Distance{siamese.L1, siamese.L2, siamese.Cosine}

// brute ranks vecs by their float64 distance to q, ties in order.
func brute(metric siamese.Distance, q []float32, vecs [][]float32, k int) []int {
	d := make([]float64, len(vecs))
	idx := make([]int, len(vecs))
	for i, v := range vecs {
		idx[i] = i
		var s, ab, aa, bb float64
		for j := range q {
			x, y := float64(q[j]), float64(v[j])
			switch metric {
			case siamese.L1:
				s += math.Abs(x - y)
			case siamese.L2:
				s += (x - y) * (x - y)
			}
			ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
		}
		if metric == siamese.Cosine {
			s = 1 - ab/math.Sqrt(aa*bb)
		}
		d[i] = s
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case d[a] < d[b]:
			return -1
		case d[a] > d[b]:
			return 1
		}
		return 0
	})
	return idx[:k]
}

// TestRecall builds an index of 4,000 clustered vectors of length 32 with
// the default configuration (63 lists, 8 probed) and checks, for each metric, that Exact finds
// what a float64 brute-force scan finds and that Search finds at least
// 95% of Exact's ten nearest (recall@10).
func TestRecall(t *testing.T) {
	const n, dim, queries = 4000, 32, 200
	vecs := clustered(n+queries, dim, 100, 0.8, 7)
	qs := vecs[n:]
	vecs = vecs[:n]
	for _, metric := range metrics {
		t.Run(metric.String(), func(t *testing.T) {
			ix, err := Build(metric, names(n), vecs, Config{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if ix.Len() != n || ix.Lists() != 63 || ix.Probe() != 8 {
				t.Fatalf("Len %d, Lists %d, Probe %d; want %d, 63, 8", ix.Len(), ix.Lists(), ix.Probe(), n)
			}
			var exact, approx [][]Hit
			for qi, q := range qs {
				e, err := ix.Exact(q, 10)
				if err != nil {
					t.Fatal(err)
				}
				for r, want := range brute(metric, q, vecs, 10) {
					if e[r].Index != want || e[r].ID != names(n)[want] {
						t.Fatalf("query %d: Exact's rank %d is %d (%s), brute force's %d", qi, r, e[r].Index, e[r].ID, want)
					}
				}
				a, err := ix.Search(q, 10)
				if err != nil {
					t.Fatal(err)
				}
				exact, approx = append(exact, e), append(approx, a)
			}
			r := recall(exact, approx)
			t.Logf("recall@10 %.3f with %d of %d lists", r, ix.Probe(), ix.Lists())
			if r < 0.95 {
				t.Errorf("recall@10 %.3f, want at least 0.95", r)
			}
			// One list scanned finds less: the test can tell a
			// search that scans too little.
			if err := ix.SetProbe(1); err != nil {
				t.Fatal(err)
			}
			var one [][]Hit
			for _, q := range qs {
				a, _ := ix.Search(q, 10)
				one = append(one, a)
			}
			if r1 := recall(exact, one); r1 >= r {
				t.Errorf("recall@10 %.3f with one list, not below %.3f", r1, r)
			}
		})
	}
}

// TestTies checks that equal vectors rank in the order they were added,
// as a Gallery ranks equal scores, by Search and after Add.
func TestTies(t *testing.T) {
	for _, metric := range metrics {
		t.Run(metric.String(), func(t *testing.T) {
			vecs := clustered(300, 8, 5, 0.5, 11)
			ids := names(300)
			// Copies of vector 10 at positions 40, 150 and 299.
			for _, p := range []int{40, 150, 299} {
				vecs[p] = slices.Clone(vecs[10])
			}
			ix, err := Build(metric, ids, vecs, Config{Lists: 4, Probe: 4})
			if err != nil {
				t.Fatal(err)
			}
			dup := slices.Clone(vecs[10])
			if err := ix.Add([]string{"late"}, [][]float32{dup}); err != nil {
				t.Fatal(err)
			}
			hits, err := ix.Search(vecs[10], 6)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"v10", "v40", "v150", "v299", "late"}
			for r, id := range want {
				if hits[r].ID != id || hits[r].Distance != hits[0].Distance {
					t.Fatalf("rank %d: %s at %g, want %s at the first's %g: %v", r, hits[r].ID, hits[r].Distance, id, hits[0].Distance, hits)
				}
			}
			if hits[0].Distance > 1e-6 {
				t.Errorf("distance of a vector to itself %g", hits[0].Distance)
			}
			if hits[5].Distance <= hits[4].Distance {
				t.Errorf("rank 6 at %g, not farther than the copies", hits[5].Distance)
			}
		})
	}
}

// TestGalleryOrder checks that Exact over a model's search vectors, with
// Matches, gives what the model's Gallery gives: the same references in
// the same order (ties included) and the same scores.
func TestGalleryOrder(t *testing.T) {
	for _, metric := range metrics {
		t.Run(metric.String(), func(t *testing.T) {
			m := tinyModel(t, metric, 5)
			embs := clustered(81, 16, 4, 0.3, 13)
			embs[80] = slices.Clone(embs[3]) // a tie
			q := embs[3]
			g, err := m.NewGallery(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids := names(80)
			ids = append(ids, "copy-of-v3")
			ges := make([]siamese.Embedding, len(embs))
			folded := make([][]float32, len(embs))
			for i, e := range embs {
				ges[i] = e
				if folded[i], err = m.FoldHead(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := g.AddEmbeddings(ids, ges); err != nil {
				t.Fatal(err)
			}
			want, err := g.SearchEmbedding(q, 0)
			if err != nil {
				t.Fatal(err)
			}
			ix, err := Build(metric, ids, folded, Config{Lists: 3})
			if err != nil {
				t.Fatal(err)
			}
			if err := ix.CheckModel(m); err != nil {
				t.Fatal(err)
			}
			fq, _ := m.FoldHead(q)
			hits, err := ix.Exact(fq, len(ids))
			if err != nil {
				t.Fatal(err)
			}
			got := Matches(m, hits)
			if got[0].ID != "v3" || got[1].ID != "copy-of-v3" {
				t.Errorf("first two %s, %s; want v3 and its copy", got[0].ID, got[1].ID)
			}
			for r := range want {
				if got[r].ID != want[r].ID || got[r].Index != want[r].Index {
					t.Fatalf("rank %d: index has %s, gallery %s", r, got[r].ID, want[r].ID)
				}
				if d := math.Abs(float64(got[r].Score - want[r].Score)); d > 1e-5 {
					t.Errorf("rank %d (%s): score %g, gallery %g", r, got[r].ID, got[r].Score, want[r].Score)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	vecs := clustered(50, 4, 2, 0.5, 1)
	if _, err := Build(siamese.L2, names(49), vecs, Config{}); err == nil {
		t.Error("Build took 49 ids for 50 vectors")
	}
	ids := names(50)
	ids[7] = ids[3]
	if _, err := Build(siamese.L2, ids, vecs, Config{}); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("duplicate id: %v, want ErrDuplicateID", err)
	}
	bad := slices.Clone(vecs)
	bad[5] = []float32{1, 2, float32(math.NaN()), 3}
	if _, err := Build(siamese.L2, names(50), bad, Config{}); !errors.Is(err, ErrVector) {
		t.Errorf("NaN: %v, want ErrVector", err)
	}
	bad[5] = []float32{1, 2}
	if _, err := Build(siamese.L2, names(50), bad, Config{}); !errors.Is(err, ErrVector) {
		t.Errorf("short vector: %v, want ErrVector", err)
	}
	if _, err := Build(siamese.L2, nil, nil, Config{}); err == nil {
		t.Error("Build took no vectors")
	}
	if _, err := Build(siamese.L2, names(50), vecs, Config{Lists: 10, Train: 5}); err == nil {
		t.Error("Build took 5 training vectors for 10 lists")
	}
	for _, c := range []Config{{Lists: 3, Probe: 4}, {Lists: 51}, {Lists: 5, Train: 60}} {
		if _, err := Build(siamese.L2, names(50), vecs, c); err == nil {
			t.Errorf("Build of 50 vectors took %+v", c)
		}
	}
	ix, err := Build(siamese.L2, names(50), vecs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Add([]string{"v3"}, vecs[:1]); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("Add of an id already there: %v, want ErrDuplicateID", err)
	}
	if _, err := ix.Search([]float32{1, 2, 3}, 5); !errors.Is(err, ErrVector) {
		t.Errorf("short query: %v, want ErrVector", err)
	}
	if _, err := ix.Search(vecs[0], 0); err == nil {
		t.Error("Search took k = 0")
	}
	if err := ix.SetProbe(ix.Lists() + 1); err == nil {
		t.Error("SetProbe took more than Lists")
	}
	if err := ix.CheckModel(tinyModel(t, siamese.L2, 1)); !errors.Is(err, ErrModel) {
		t.Errorf("CheckModel of a model with vectors of 16 for an index of 4: %v, want ErrModel", err)
	}
}

// TestConcurrent searches from several goroutines while vectors are
// added (run it with -race), and checks that every search of a vector
// already there finds it first.
func TestConcurrent(t *testing.T) {
	vecs := clustered(400, 8, 8, 0.5, 5)
	ix, err := Build(siamese.L2, names(200), vecs[:200], Config{Lists: 8, Probe: 8})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < 200; i += 4 {
				hits, err := ix.Search(vecs[i], 1)
				if err != nil || hits[0].Index != i {
					t.Errorf("vector %d: %v, %v", i, hits, err)
					return
				}
			}
		})
	}
	for i := 200; i < 400; i += 20 {
		if err := ix.Add(names(400)[i:i+20], vecs[i:i+20]); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if ix.Len() != 400 {
		t.Errorf("Len %d after adding, want 400", ix.Len())
	}
}
