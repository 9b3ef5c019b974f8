// Command ann measures approximate nearest-neighbour indexes on seeded
// synthetic clustered vectors: recall@10 against an exact scan, queries
// per second on one goroutine, build time and memory. It compares the
// index package (an inverted file) with github.com/coder/hnsw, the other
// pure-Go library the module proxy serves, and lives in a module of its
// own so that the library's go.mod does not take coder/hnsw.
//
//	go run . -lib ivf -n 100000
//	go run . -lib coder-hnsw -n 100000 -ef 20,100,400
//
// One library a run, so that the process's peak memory is that library's.
package main

import (
	"cmp"
	"flag"
	"fmt"
	mrand "math/rand"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/hnsw"

	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() {
	lib := flag.String("lib", "ivf", "ivf (package index) or coder-hnsw")
	n := flag.Int("n", 100000, "vectors in the index")
	dim := flag.Int("dim", 512, "vector length (512: the quick model's embedding; ResNet-50 heads without hidden layers give 2048)")
	per := flag.Int("per-cluster", 40, "vectors per cluster: there are n/per-cluster cluster centres")
	spread := flag.Float64("spread", 1.0, "standard deviation of a vector around its centre (the centres' is 1)")
	nq := flag.Int("queries", 1000, "queries, drawn as the vectors are")
	seed := flag.Uint64("seed", 1, "seed of the vectors")
	lists := flag.Int("lists", 0, "ivf: lists (0: the default, sqrt(n))")
	probes := flag.String("probe", "8,16,32,64", "ivf: lists probed, one measurement each")
	m := flag.Int("m", 16, "coder-hnsw: neighbours a node keeps")
	efc := flag.Int("efc", 100, "coder-hnsw: EfSearch while building")
	efs := flag.String("ef", "20,100,400", "coder-hnsw: EfSearch of the queries, one measurement each")
	flag.Parse()

	fmt.Printf("cpu %s, %d cores, GOMAXPROCS %d, load %s\n", cpuName(), runtime.NumCPU(), runtime.GOMAXPROCS(0), loadavg())
	all := clustered(*n+*nq, *dim, max(1, (*n+*nq) / *per), *spread, *seed)
	vecs, qs := all[:*n], all[*n:]
	t0 := time.Now()
	truth := exact(vecs, qs, 10)
	fmt.Printf("%d vectors of %d, %d queries, exact top-10 in %s\n", *n, *dim, *nq, time.Since(t0).Round(time.Millisecond))

	before := heap()
	cpu0 := cpuTime()
	var search func(q []float32) []int
	var set func(p int)
	var params []int
	t0 = time.Now()
	switch *lib {
	case "ivf":
		ids := make([]string, *n)
		for i := range ids {
			ids[i] = strconv.Itoa(i)
		}
		ix, err := index.Build(siamese.L2, ids, vecs, index.Config{Lists: *lists})
		if err != nil {
			fmt.Fprintln(os.Stderr, "ann:", err)
			os.Exit(1)
		}
		fmt.Printf("ivf: %d lists\n", ix.Lists())
		search = func(q []float32) []int {
			hits, err := ix.Search(q, 10)
			if err != nil {
				panic(err)
			}
			out := make([]int, len(hits))
			for i, h := range hits {
				out[i] = h.Index
			}
			return out
		}
		set = func(p int) {
			if err := ix.SetProbe(min(p, ix.Lists())); err != nil {
				panic(err)
			}
		}
		params = parseInts(*probes)
	case "coder-hnsw":
		g := hnsw.NewGraph[int]()
		g.Distance = l2
		g.M = *m
		g.Ml = 0.25
		g.EfSearch = *efc
		g.Rng = mrand.New(mrand.NewSource(int64(*seed))) // coder/hnsw takes math/rand's
		for i, v := range vecs {
			g.Add(hnsw.MakeNode(i, v))
		}
		search = func(q []float32) []int {
			nodes := g.Search(q, 10)
			out := make([]int, len(nodes))
			for i, nd := range nodes {
				out[i] = nd.Key
			}
			return out
		}
		set = func(p int) { g.EfSearch = p }
		params = parseInts(*efs)
	default:
		fmt.Fprintf(os.Stderr, "ann: -lib %q: ivf or coder-hnsw\n", *lib)
		os.Exit(2)
	}
	build, buildCPU := time.Since(t0), cpuTime()-cpu0
	mem := heap() - before
	fmt.Printf("%s: built in %s (processor time %s), index %.0f MiB on the heap (the vectors alone: %.0f MiB), load %s\n",
		*lib, build.Round(time.Millisecond), buildCPU.Round(time.Millisecond), float64(mem)/(1<<20), float64(*n**dim*4)/(1<<20), loadavg())
	fmt.Println("lib\tn\tdim\tparam\trecall@10\tqueries/s\tcpu-µs/query\tqueries/cpu-s")
	for _, p := range params {
		set(p)
		found := 0
		t0, c0 := time.Now(), cpuTime()
		for qi, q := range qs {
			got := search(q)
			in := map[int]bool{}
			for _, i := range got {
				in[i] = true
			}
			for _, i := range truth[qi] {
				if in[i] {
					found++
				}
			}
		}
		el, cpu := time.Since(t0), cpuTime()-c0
		fmt.Printf("%s\t%d\t%d\t%d\t%.3f\t%.0f\t%.0f\t%.0f\n", *lib, *n, *dim, p, float64(found)/float64(10*len(qs)),
			float64(len(qs))/el.Seconds(), float64(cpu.Microseconds())/float64(len(qs)), float64(len(qs))/cpu.Seconds())
	}
	fmt.Printf("peak RSS %s, load %s\n", peakRSS(), loadavg())
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fmt.Fprintf(os.Stderr, "ann: %q: %v\n", s, err)
			os.Exit(2)
		}
		out = append(out, v)
	}
	return out
}

// clustered returns n vectors of length dim around c centres (standard
// normal), each centre plus normal noise of deviation spread.
func clustered(n, dim, c int, spread float64, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float32, c)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(rng.NormFloat64())
		}
	}
	flat := make([]float32, n*dim)
	out := make([][]float32, n)
	for i := range out {
		ce := centres[rng.IntN(c)]
		v := flat[i*dim : (i+1)*dim : (i+1)*dim]
		for j := range v {
			v[j] = ce[j] + float32(spread*rng.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// l2 is the squared Euclidean distance, summed as package index sums it.
func l2(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0, d1, d2, d3 := a[i]-b[i], a[i+1]-b[i+1], a[i+2]-b[i+2], a[i+3]-b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// exact returns each query's k nearest vectors by a full scan, ties in
// index order, on every core.
func exact(vecs, qs [][]float32, k int) [][]int {
	out := make([][]int, len(qs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			type c struct {
				d float32
				i int
			}
			cs := make([]c, len(vecs))
			for qi := range next {
				for i, v := range vecs {
					cs[i] = c{l2(qs[qi], v), i}
				}
				slices.SortFunc(cs, func(a, b c) int {
					if r := cmp.Compare(a.d, b.d); r != 0 {
						return r
					}
					return cmp.Compare(a.i, b.i)
				})
				ids := make([]int, k)
				for i := range ids {
					ids[i] = cs[i].i
				}
				out[qi] = ids
			}
		})
	}
	for qi := range qs {
		next <- qi
	}
	close(next)
	wg.Wait()
	return out
}

// cpuTime is the processor time (user and system) the process has had.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuName() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "?"
}

func peakRSS() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "?"
}
