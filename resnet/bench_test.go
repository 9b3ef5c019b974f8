package resnet

import (
	"fmt"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Benchmarks: go test -run '^$' -bench . -benchtime 5x ./resnet
// Each op is one batch; images/s is reported as a custom metric, and
// cpu-ms/op, the processor time of the whole process per batch (user and
// system, where the OS reports it), which other programs on the machine
// change far less than they change the wall time.

func benchInput(n, size int) *tensor.Dense {
	return detTensor("bench_input", -2, 2, n, 3, size, size)
}

func benchInfer(b *testing.B, cfg Config, batch, size int) {
	benchInferWith(b, cfg, batch, size, InferOptions{})
}

func benchInferWith(b *testing.B, cfg Config, batch, size int, o InferOptions) {
	b.ReportAllocs()
	if err := PrecisionAvailable(o.Precision); err != nil {
		b.Skip(err)
	}
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	x := benchInput(batch, size)
	if _, _, err := e.InferWith(x, o); err != nil { // compile the graph outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		if _, _, err := e.InferWith(x, o); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}

// reportCPU reports the processor time used since start per op, where
// the OS gives it (cpuTime > 0).
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 {
		b.ReportMetric(float64(cpuTime()-start)/1e6/float64(b.N), "cpu-ms/op")
	}
}

// trainStep is a training graph (BatchNorm on batch statistics) with
// loss = sum(pooled features) and the gradient of every parameter.
type trainStep struct {
	vm G.VM
}

func newTrainStep(tb testing.TB, e *Encoder, x *tensor.Dense) *trainStep {
	g := layers.NewGraph(layers.Training, 1)
	xn := G.NodeFromAny(g.G, x, G.WithName("x"))
	y, err := e.Forward(g, xn)
	if err != nil {
		tb.Fatal(err)
	}
	loss, err := G.Sum(y)
	if err != nil {
		tb.Fatal(err)
	}
	nodes, _ := g.Learnables()
	if _, err := G.Grad(loss, nodes...); err != nil {
		tb.Fatal(err)
	}
	return &trainStep{vm: layers.NewTapeMachine(g)}
}

func (s *trainStep) run(tb testing.TB) {
	s.vm.Reset()
	if err := s.vm.RunAll(); err != nil {
		tb.Fatal(err)
	}
}

func benchTrain(b *testing.B, cfg Config, batch, size int) {
	b.ReportAllocs()
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	s := newTrainStep(b, e, benchInput(batch, size))
	defer s.vm.Close()
	s.run(b)
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		s.run(b)
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkInfer(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"ResNet50", ResNet50()}, {"ResNet18", ResNet18()}} {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/batch%d/64x64", c.name, batch), func(b *testing.B) { benchInfer(b, c.cfg, batch, 64) })
		}
	}
	b.Run("ResNet50/batch8/224x224", func(b *testing.B) { benchInfer(b, ResNet50(), 8, 224) })
}

// BenchmarkInferPrecision measures ResNet-50's InferWith in each
// precision, side by side in one process (bf16 is skipped where it cannot
// run): go test -run '^$' -bench InferPrecision -benchtime 5x -count 4
// -tags onednn ./resnet
func BenchmarkInferPrecision(b *testing.B) {
	for _, c := range []struct {
		name        string
		batch, size int
	}{{"batch32/64x64", 32, 64}, {"batch8/224x224", 8, 224}} {
		for _, p := range []Precision{FP32, BF16} {
			b.Run(fmt.Sprintf("ResNet50/%s/%v", c.name, p), func(b *testing.B) {
				benchInferWith(b, ResNet50(), c.batch, c.size, InferOptions{Precision: p})
			})
		}
	}
}

func BenchmarkTrainStep(b *testing.B) {
	b.Run("ResNet50/batch16/64x64", func(b *testing.B) { benchTrain(b, ResNet50(), 16, 64) })
	b.Run("ResNet50/batch8/224x224", func(b *testing.B) { benchTrain(b, ResNet50(), 8, 224) })
	b.Run("ResNet18/batch16/64x64", func(b *testing.B) { benchTrain(b, ResNet18(), 16, 64) })
}
