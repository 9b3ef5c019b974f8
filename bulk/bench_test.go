package bulk

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// benchmarkRun embeds a folder of 64 PNGs of 160x120 (decoding and
// resizing included) into Parquet with a model of encoder enc at input
// size, and reports images/s.
func benchmarkRun(b *testing.B, enc resnet.Config, size int) {
	src := b.TempDir()
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
	paths, err := Folder(src)
	if err != nil {
		b.Fatal(err)
	}
	m, err := siamese.New(siamese.Config{Encoder: enc, Hidden: []int{128}, Input: preprocess.Config{Size: size}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Run(context.Background(), m, paths, Config{Dir: filepath.Join(b.TempDir(), "out")}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(paths)*b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkRunResNet18Width8At32(b *testing.B) {
	benchmarkRun(b, resnet.Config{Depth: 18, Width: 8}, 32)
}
func BenchmarkRunResNet18At64(b *testing.B) { benchmarkRun(b, resnet.Config{Depth: 18}, 64) }
