// Command bench measures ResNet throughput and memory on the CPU and prints
// one JSON object:
//
//	go run ./examples/bench                      # ResNet-50, 64x64
//	go run ./examples/bench -train-batch 32 -train-iters 20   # RSS over many steps
//	go run -tags onednn ./examples/bench -precision bf16 -train-batch 0   # bfloat16 inference
//
// embed_images_per_s is inference (BatchNorm on running statistics, pooled
// features) at -batch; train_images_per_s is one training step (forward and
// backward of loss = sum(pooled features), every parameter's gradient) at
// -train-batch. peak_rss_mib is VmHWM from /proc/self/status at the end;
// rss_mib_after_first_train and rss_mib_after_train are VmRSS after the
// first timed training step and after the last, and rss_mib_by_train_step
// after each, to show growth. -precision bf16 runs the inference in
// bfloat16 (resnet.InferOptions; the onednn build tag and a CPU with
// native bfloat16); training stays float32.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/internal/gcpace"
	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/resnet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func main() {
	gcpace.Set()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, measures and prints the JSON object; it returns the
// exit status: 2 for bad flags, 1 for a failed measurement.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	depth := fs.Int("depth", 50, "ResNet depth (18, 34, 50, 101, 152)")
	size := fs.Int("size", 64, "image side, at least 32")
	batch := fs.Int("batch", 32, "inference batch size (0 skips inference)")
	iters := fs.Int("iters", 5, "timed inference batches, at least 1")
	trainBatch := fs.Int("train-batch", 16, "training batch size (0 skips training)")
	trainIters := fs.Int("train-iters", 3, "timed training steps, at least 1")
	sweep := fs.String("sweep", "", "after the rest, run inference at each of these comma-separated batch sizes in turn, twice through, with one encoder, and report the RSS after each, once the collector has returned free memory to the system: the memory of the encoder's bounded cache of compiled graphs (resnet.MaxInferGraphs)")
	precision := fs.String("precision", "fp32", "inference arithmetic: fp32, or bf16 (build tag onednn, a CPU with native bfloat16); training stays fp32")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: bench [flags]\n\nMeasures ResNet inference and training throughput and memory on the CPU; prints one JSON object.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if msg := check(fs.Args(), *depth, *size, *batch, *iters, *trainBatch, *trainIters); msg != "" {
		fmt.Fprintln(stderr, "bench:", msg)
		return 2
	}
	var sweepBatches []int
	if *sweep != "" {
		for _, f := range strings.Split(*sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fmt.Fprintf(stderr, "bench: -sweep %q: want batch sizes of at least 1, comma-separated\n", *sweep)
				return 2
			}
			sweepBatches = append(sweepBatches, n)
		}
	}
	prec, err := resnet.ParsePrecision(*precision)
	if err != nil {
		fmt.Fprintln(stderr, "bench: -precision:", err)
		return 2
	}
	if err := resnet.PrecisionAvailable(prec); err != nil {
		fmt.Fprintln(stderr, "bench: -precision:", err)
		return 1
	}
	if err := measure(stdout, *depth, *size, *batch, *iters, *trainBatch, *trainIters, prec, sweepBatches); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// check returns what is wrong with the flags, or "".
func check(args []string, depth, size, batch, iters, trainBatch, trainIters int) string {
	switch {
	case len(args) > 0:
		return fmt.Sprintf("unexpected argument %q (bench takes only flags)", args[0])
	case !slices.Contains([]int{18, 34, 50, 101, 152}, depth):
		return fmt.Sprintf("-depth %d: want 18, 34, 50, 101 or 152", depth)
	case size < 32:
		return fmt.Sprintf("-size %d: want at least 32", size)
	case batch < 0 || trainBatch < 0:
		return "-batch and -train-batch must not be negative (0 skips that part)"
	case batch == 0 && trainBatch == 0:
		return "-batch 0 and -train-batch 0: nothing to measure"
	case iters < 1 || trainIters < 1:
		return "-iters and -train-iters must be at least 1"
	}
	// BatchNorm in training normalises each channel over the batch and
	// the feature map, which at the last stage is size/32 on a side.
	if side := (size + 31) / 32; trainBatch > 0 && trainBatch*side*side < 2 {
		return fmt.Sprintf("-train-batch %d at -size %d: training BatchNorm needs more than one value per channel, and the last stage's feature map is %dx%d; use -train-batch 2 or more, or -size 33 or more", trainBatch, size, side, side)
	}
	return ""
}

func input(n, size int) *tensor.Dense {
	v := detrand.Uniform("bench_input", n*3*size*size, -2, 2)
	return tensor.New(tensor.WithShape(n, 3, size, size), tensor.WithBacking(v))
}

// measure runs the measurements and writes the JSON object to w.
func measure(w io.Writer, depth, size, batch, iters, trainBatch, trainIters int, prec resnet.Precision, sweep []int) error {
	cfg := resnet.Config{Depth: depth}
	res := map[string]any{
		"impl": "gosiamese", "arch": fmt.Sprintf("resnet%d", depth), "size": size,
		"threads": runtime.GOMAXPROCS(0), "backend": layers.GemmBackend(),
	}
	opts := resnet.InferOptions{Precision: prec}
	if batch > 0 {
		e, err := resnet.New(cfg)
		if err != nil {
			return err
		}
		x := input(batch, size)
		if _, _, err := e.InferWith(x, opts); err != nil { // warm-up: compiles the graph
			return err
		}
		t0 := time.Now()
		for range iters {
			if _, _, err := e.InferWith(x, opts); err != nil {
				return err
			}
		}
		res["embed_precision"] = prec.String()
		res["embed_batch"] = batch
		res["embed_images_per_s"] = round(float64(batch*iters) / time.Since(t0).Seconds())
	}
	if trainBatch > 0 {
		e, err := resnet.New(cfg)
		if err != nil {
			return err
		}
		g := layers.NewGraph(layers.Training, 1)
		xn := G.NodeFromAny(g.G, input(trainBatch, size), G.WithName("x"))
		y, err := e.Forward(g, xn)
		if err != nil {
			return err
		}
		loss, err := G.Sum(y)
		if err != nil {
			return err
		}
		nodes, _ := g.Learnables()
		if _, err := G.Grad(loss, nodes...); err != nil {
			return err
		}
		vm := layers.NewTapeMachine(g)
		defer vm.Close()
		step := func() error { vm.Reset(); return vm.RunAll() }
		if err := step(); err != nil { // warm-up
			return err
		}
		t0 := time.Now()
		var rss []float64
		for i := range trainIters {
			if err := step(); err != nil {
				return err
			}
			rss = append(rss, procStatus("VmRSS"))
			if i == 0 {
				res["rss_mib_after_first_train"] = rss[0]
			}
		}
		res["rss_mib_by_train_step"] = rss
		res["train_batch"] = trainBatch
		res["train_images_per_s"] = round(float64(trainBatch*trainIters) / time.Since(t0).Seconds())
		res["rss_mib_after_train"] = procStatus("VmRSS")
	}
	if len(sweep) > 0 {
		e, err := resnet.New(cfg)
		if err != nil {
			return err
		}
		var rss []float64
		for range 2 {
			for _, n := range sweep {
				if _, _, err := e.InferWith(input(n, size), opts); err != nil {
					return err
				}
				// What the process holds: the collector returns free
				// memory to the system first.
				debug.FreeOSMemory()
				rss = append(rss, procStatus("VmRSS"))
			}
		}
		res["sweep_batches"] = sweep
		res["sweep_rss_mib"] = rss
		res["sweep_max_graphs"] = resnet.MaxInferGraphs
	}
	res["peak_rss_mib"] = procStatus("VmHWM")
	return json.NewEncoder(w).Encode(res)
}

func round(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// procStatus returns a field of /proc/self/status in MiB, or -1.
func procStatus(key string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return -1
			}
			return round(float64(kb) / 1024)
		}
	}
	return -1
}
