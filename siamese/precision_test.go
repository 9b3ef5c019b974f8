package siamese

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"gorgonia.org/tensor"
)

// TestEmbedReducedFP32MatchesGraph: the path SetPrecision's reduced
// precisions take (the encoder's InferWith, then the hidden layers in Go)
// gives, at FP32, the embeddings of the inference graph, for shared and
// separate towers: the hidden layers are computed as the graph does.
func TestEmbedReducedFP32MatchesGraph(t *testing.T) {
	for _, sep := range []bool{false, true} {
		m := tinyModel(t, func(c *Config) { c.SeparateTowers = sep })
		imgs := []image.Image{noise(1, 40, 32), noise(2, 32, 32), ramp(32, 48, color.NRGBA{200, 120, 60, 255})}
		in := m.cfg.Input
		pix, err := preprocess.Batch(imgs, in)
		if err != nil {
			t.Fatal(err)
		}
		for tower := range 2 {
			want, err := m.Network().EmbedImages(Tower(tower), imgs)
			if err != nil {
				t.Fatal(err)
			}
			x := tensor.New(tensor.WithShape(len(imgs), in.Channels, in.Size, in.Size), tensor.WithBacking(pix))
			got, err := m.embedReduced(tower, x)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if r := embRelErr(got[i], want[i]); r > 1e-5 || math.IsNaN(r) {
					t.Errorf("separate %v tower %d image %d: relative error %.3g against the graph", sep, tower, i, r)
				}
			}
		}
	}
}

// embRelErr is max |a - b| / max |b|.
func embRelErr(a, b Embedding) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d, s float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = max(s, math.Abs(float64(b[i])))
	}
	return d / s
}

// TestSetPrecision: BF16 embeddings are within bf16's tolerance of FP32's
// and not equal to them where bf16 runs; where it cannot, SetPrecision
// says why (wrapping resnet.ErrPrecisionUnavailable) and the model stays
// at FP32. The model has no hidden layers, whose float32 arithmetic
// TestEmbedReducedFP32MatchesGraph checks: a tiny random head can cancel
// most of its input and so magnify bf16's relative error (to 5% here).
func TestSetPrecision(t *testing.T) {
	m := tinyModel(t, func(c *Config) { c.Hidden = []int{} })
	imgs := []image.Image{noise(5, 32, 32), ramp(48, 32, color.NRGBA{30, 220, 140, 255}), noise(6, 64, 40)}
	want, err := m.EmbedBatch(imgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrecision(resnet.Precision(9)); err == nil || m.Precision() != resnet.FP32 {
		t.Errorf("Precision(9): error %v, precision %v", err, m.Precision())
	}
	err = m.SetPrecision(resnet.BF16)
	if avail := resnet.PrecisionAvailable(resnet.BF16); avail != nil {
		if !errors.Is(err, resnet.ErrPrecisionUnavailable) || !strings.HasPrefix(err.Error(), "siamese: ") || m.Precision() != resnet.FP32 {
			t.Fatalf("bf16 unavailable (%v): SetPrecision error %v, precision %v", avail, err, m.Precision())
		}
		if os.Getenv("GOSIAMESE_REQUIRE_BF16") == "1" {
			t.Fatalf("GOSIAMESE_REQUIRE_BF16=1: %v", avail)
		}
		t.Skipf("skipped the bf16 embeddings: %v", avail)
	}
	if err != nil || m.Precision() != resnet.BF16 {
		t.Fatalf("SetPrecision(BF16): %v, precision %v", err, m.Precision())
	}
	got, err := m.EmbedBatch(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		r := embRelErr(got[i], want[i])
		if r > 2e-2 || math.IsNaN(r) {
			t.Errorf("image %d: bf16 relative error %.3g, want <= 2e-2", i, r)
		}
		if r < 1e-5 {
			t.Errorf("image %d: bf16 relative error %.3g: float32's, so bf16 did not run", i, r)
		}
		t.Logf("image %d: bf16 relative error %.3g", i, r)
	}
	// one image alone gets the embedding it got in the batch
	one, err := m.Embed(imgs[1])
	if err != nil {
		t.Fatal(err)
	}
	if r := embRelErr(one, got[1]); r != 0 {
		t.Errorf("image 1 alone: relative difference %.3g from its batch's embedding", r)
	}
	if err := m.SetPrecision(resnet.FP32); err != nil {
		t.Fatal(err)
	}
	back, err := m.EmbedBatch(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if r := embRelErr(back[i], want[i]); r != 0 {
			t.Errorf("image %d back at fp32: relative difference %.3g", i, r)
		}
	}
}
