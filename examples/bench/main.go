// Command bench measures ResNet throughput and memory on the CPU and prints
// one JSON object:
//
//	go run ./examples/bench                      # ResNet-50, 64x64
//	go run ./examples/bench -train-batch 32 -train-iters 20   # RSS over many steps
//
// embed_images_per_s is inference (BatchNorm on running statistics, pooled
// features) at -batch; train_images_per_s is one training step (forward and
// backward of loss = sum(pooled features), every parameter's gradient) at
// -train-batch. peak_rss_mib is VmHWM from /proc/self/status at the end;
// rss_mib_after_first_train and rss_mib_after_train are VmRSS after the
// first timed training step and after the last, and rss_mib_by_train_step
// after each, to show growth.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
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
	depth := flag.Int("depth", 50, "ResNet depth (18, 34, 50, 101, 152)")
	size := flag.Int("size", 64, "image side")
	batch := flag.Int("batch", 32, "inference batch size (0 skips inference)")
	iters := flag.Int("iters", 5, "timed inference batches")
	trainBatch := flag.Int("train-batch", 16, "training batch size (0 skips training)")
	trainIters := flag.Int("train-iters", 3, "timed training steps")
	flag.Parse()
	if err := run(*depth, *size, *batch, *iters, *trainBatch, *trainIters); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func input(n, size int) *tensor.Dense {
	v := detrand.Uniform("bench_input", n*3*size*size, -2, 2)
	return tensor.New(tensor.WithShape(n, 3, size, size), tensor.WithBacking(v))
}

func run(depth, size, batch, iters, trainBatch, trainIters int) error {
	cfg := resnet.Config{Depth: depth}
	res := map[string]any{
		"impl": "gosiamese", "arch": fmt.Sprintf("resnet%d", depth), "size": size,
		"threads": runtime.GOMAXPROCS(0), "backend": layers.GemmBackend(),
	}
	if batch > 0 {
		e, err := resnet.New(cfg)
		if err != nil {
			return err
		}
		x := input(batch, size)
		if _, _, err := e.Infer(x); err != nil { // warm-up: compiles the graph
			return err
		}
		t0 := time.Now()
		for range iters {
			if _, _, err := e.Infer(x); err != nil {
				return err
			}
		}
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
	res["peak_rss_mib"] = procStatus("VmHWM")
	return json.NewEncoder(os.Stdout).Encode(res)
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
