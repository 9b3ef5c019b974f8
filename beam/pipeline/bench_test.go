package pipeline

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// benchmarkPipeline runs the pipeline on prism over a folder of 64 PNGs
// of 160x120 (bulk's BenchmarkRun's images) with a model of encoder enc
// at input size, in shards of 16, and reports images/s: the whole job,
// prism's start included (the model is read in the first run only: the
// process keeps it, as a worker does).
func benchmarkPipeline(b *testing.B, enc resnet.Config, size int) {
	dir := b.TempDir()
	src := filepath.Join(dir, "in")
	if err := os.Mkdir(src, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 64 {
		f, err := os.Create(filepath.Join(src, fmt.Sprintf("%02d.png", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := png.Encode(f, detrand.Image(f.Name(), 120, 160)); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	m, err := siamese.New(siamese.Config{Encoder: enc, Hidden: []int{128}, Input: preprocess.Config{Size: size}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	model := filepath.Join(dir, "model.safetensors")
	if err := m.Save(model); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, s := beam.NewPipelineWithRoot()
		if _, err := Build(s, Config{Input: filepath.Join(src, "*.png"), Model: model, Output: filepath.Join(dir, fmt.Sprint("out", i)), ShardSize: 16}); err != nil {
			b.Fatal(err)
		}
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkPipelineResNet18Width8At32(b *testing.B) {
	benchmarkPipeline(b, resnet.Config{Depth: 18, Width: 8}, 32)
}
func BenchmarkPipelineResNet18At64(b *testing.B) { benchmarkPipeline(b, resnet.Config{Depth: 18}, 64) }
