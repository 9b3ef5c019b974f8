package resnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/safetensors"
)

// smallConfig is a ResNet-18 narrow enough for quick tests.
var smallConfig = Config{Depth: 18, Width: 8}

func newEncoder(t *testing.T, cfg Config) *Encoder {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// snapshot copies the data of every parameter of e, by name.
func snapshot(e *Encoder) map[string][]float32 {
	m := map[string][]float32{}
	for _, p := range e.Params() {
		m[p.Name] = append([]float32(nil), p.Float32s()...)
	}
	return m
}

// checkBits reports every parameter of e whose bits differ from want (the
// first differing element of each).
func checkBits(t *testing.T, e *Encoder, want map[string][]float32) {
	t.Helper()
	if len(want) != len(e.Params()) {
		t.Errorf("%d params, want %d", len(e.Params()), len(want))
	}
	for _, p := range e.Params() {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected param %s", p.Name)
			continue
		}
		got := p.Float32s()
		if len(got) != len(w) {
			t.Errorf("%s: %d values, want %d", p.Name, len(got), len(w))
			continue
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(w[i]) {
				t.Errorf("%s[%d] = %g, want %g", p.Name, i, got[i], w[i])
				break
			}
		}
	}
}

// tensorsOf returns e's parameters as F32 safetensors tensors.
func tensorsOf(t *testing.T, e *Encoder) []safetensors.Tensor {
	t.Helper()
	ts, err := layers.Tensors(e.Params())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func writeFile(t *testing.T, path string, ts []safetensors.Tensor) {
	t.Helper()
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, cfg := range []Config{smallConfig, {Depth: 50, Width: 8, NumClasses: 7}} {
		src := newEncoder(t, cfg)
		fillNamed(src) // running statistics too, not just the initialisation
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := src.SaveFile(path); err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(f.Names()); n != len(src.Params()) {
			t.Errorf("file has %d tensors, encoder %d params", n, len(src.Params()))
		}
		f.Close()

		cfg.Seed = 99
		dst := newEncoder(t, cfg)
		if err := dst.LoadFile(path); err != nil {
			t.Fatal(err)
		}
		checkBits(t, dst, snapshot(src))

		x := inputTensor("x", 2, 3, 64, 64)
		_, want := forwardOnce(t, src, x)
		_, got := forwardOnce(t, dst, x)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("depth %d: output[%d] = %g after loading, want %g", cfg.Depth, i, got[i], want[i])
			}
		}
	}
}

func TestSaveFileOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	a := newEncoder(t, smallConfig)
	if err := a.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	b := newEncoder(t, Config{Depth: 18, Width: 8, Seed: 5})
	if err := b.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	c := newEncoder(t, smallConfig)
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	checkBits(t, c, snapshot(b))
}

func TestLoadStrict(t *testing.T) {
	dir := t.TempDir()
	e := newEncoder(t, smallConfig)
	fillNamed(e)
	before := snapshot(e)

	other := newEncoder(t, Config{Depth: 18, Width: 8, Seed: 3})
	missing := []string{"layer2.0.bn1.running_var", "layer3.1.conv2.weight"}
	var ts []safetensors.Tensor
	for _, tn := range tensorsOf(t, other) {
		switch tn.Name {
		case missing[0], missing[1]:
			continue
		case "conv1.weight":
			tn = safetensors.F32("conv1.weight", []int{8, 3, 3, 3}, make([]float32, 8*3*3*3))
		}
		ts = append(ts, tn)
	}
	ts = append(ts, safetensors.F32("bogus.weight", []int{2, 2}, []float32{1, 2, 3, 4}))
	path := filepath.Join(dir, "bad.safetensors")
	writeFile(t, path, ts)

	err := e.LoadFile(path)
	if err == nil {
		t.Fatal("LoadFile accepted a file with missing, extra and misshapen tensors")
	}
	msg := err.Error()
	if !errors.Is(err, ErrArchitecture) || errors.Is(err, safetensors.ErrCorrupt) {
		t.Errorf("error %v: want ErrArchitecture and not safetensors.ErrCorrupt", err)
	}
	for _, want := range append(missing, "bogus.weight", "conv1.weight", "(8,3,7,7)", "(8,3,3,3)", path) {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	checkBits(t, e, before)

	// The same file with AllowMissing still fails on the other problems.
	err = e.LoadFileWith(path, layers.LoadOptions{AllowMissing: true})
	if err == nil || !strings.Contains(err.Error(), "bogus.weight") || !strings.Contains(err.Error(), "(8,3,3,3)") {
		t.Errorf("LoadFileWith(AllowMissing) error %v, want bogus.weight and the shape mismatch", err)
	}
	checkBits(t, e, before)
}

func TestLoadUnsupportedDType(t *testing.T) {
	e := newEncoder(t, smallConfig)
	before := snapshot(e)
	ts := tensorsOf(t, e)
	for i := range ts {
		if ts[i].Name == "bn1.bias" {
			ts[i] = safetensors.Tensor{Name: "bn1.bias", DType: "I32", Shape: []int{8}, Data: make([]byte, 32)}
		}
	}
	path := filepath.Join(t.TempDir(), "i32.safetensors")
	writeFile(t, path, ts)
	err := e.LoadFile(path)
	if err == nil || !strings.Contains(err.Error(), "bn1.bias") || !strings.Contains(err.Error(), "I32") {
		t.Errorf("LoadFile with an I32 tensor: %v", err)
	}
	checkBits(t, e, before)
}

func TestLoadIgnoresNumBatchesTracked(t *testing.T) {
	src := newEncoder(t, smallConfig)
	fillNamed(src)
	ts := tensorsOf(t, src)
	n := 0
	for _, p := range src.Params() {
		if base, ok := strings.CutSuffix(p.Name, ".running_var"); ok {
			data := make([]byte, 8)
			binary.LittleEndian.PutUint64(data, 1234)
			ts = append(ts, safetensors.Tensor{Name: base + ".num_batches_tracked", DType: "I64", Shape: []int{}, Data: data})
			n++
		}
	}
	if n != 20 {
		t.Fatalf("%d BatchNorm layers, want 20", n)
	}
	path := filepath.Join(t.TempDir(), "torch.safetensors")
	writeFile(t, path, ts)
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := f.Info("layer1.0.bn1.num_batches_tracked"); !ok || info.DType != "I64" || len(info.Shape) != 0 {
		t.Errorf("layer1.0.bn1.num_batches_tracked in the file: %+v, %v", info, ok)
	}
	f.Close()

	dst := newEncoder(t, Config{Depth: 18, Width: 8, Seed: 8})
	if err := dst.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	checkBits(t, dst, snapshot(src))
}

// halfFile writes every parameter of e with all elements equal to the
// 16-bit pattern bits, in dtype dt.
func halfFile(t *testing.T, path string, e *Encoder, dt safetensors.DType, bits uint16) {
	t.Helper()
	var ts []safetensors.Tensor
	for _, p := range e.Params() {
		n := p.Value.Shape().TotalSize()
		data := make([]byte, 2*n)
		for i := range n {
			binary.LittleEndian.PutUint16(data[2*i:], bits)
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: dt, Shape: []int(p.Value.Shape().Clone()), Data: data})
	}
	writeFile(t, path, ts)
}

func TestLoadHalfPrecision(t *testing.T) {
	for _, c := range []struct {
		dt   safetensors.DType
		bits uint16
	}{
		{"F16", 0x3E00},  // 1.5
		{"BF16", 0x3FC0}, // 1.5
	} {
		t.Run(string(c.dt), func(t *testing.T) {
			e := newEncoder(t, Config{Depth: 18, Width: 8, NumClasses: 3})
			path := filepath.Join(t.TempDir(), "half.safetensors")
			halfFile(t, path, e, c.dt, c.bits)
			if err := e.LoadFile(path); err != nil {
				t.Fatal(err)
			}
			for _, p := range e.Params() {
				for i, v := range p.Float32s() {
					if v != 1.5 {
						t.Fatalf("%s[%d] = %g, want 1.5", p.Name, i, v)
					}
				}
			}
		})
	}
	// F64 too.
	e := newEncoder(t, smallConfig)
	var ts []safetensors.Tensor
	for _, p := range e.Params() {
		n := p.Value.Shape().TotalSize()
		data := make([]byte, 8*n)
		for i := range n {
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(-0.25))
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: "F64", Shape: []int(p.Value.Shape().Clone()), Data: data})
	}
	path := filepath.Join(t.TempDir(), "f64.safetensors")
	writeFile(t, path, ts)
	if err := e.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	for _, p := range e.Params() {
		if v := p.Float32s()[0]; v != -0.25 {
			t.Fatalf("%s[0] = %g after an F64 load, want -0.25", p.Name, v)
		}
	}
}

func TestLoadTop(t *testing.T) {
	dir := t.TempDir()
	headed := newEncoder(t, Config{Depth: 18, Width: 8, NumClasses: 10})
	fillNamed(headed)
	withFC := filepath.Join(dir, "fc.safetensors")
	if err := headed.SaveFile(withFC); err != nil {
		t.Fatal(err)
	}

	// An encoder without a top ignores fc.weight and fc.bias.
	headless := newEncoder(t, smallConfig)
	if err := headless.LoadFile(withFC); err != nil {
		t.Fatalf("headless LoadFile of a file with fc: %v", err)
	}
	want := snapshot(headed)
	delete(want, "fc.weight")
	delete(want, "fc.bias")
	checkBits(t, headless, want)

	// An encoder with a top needs them.
	noFC := filepath.Join(dir, "nofc.safetensors")
	if err := headless.SaveFile(noFC); err != nil {
		t.Fatal(err)
	}
	top := newEncoder(t, Config{Depth: 18, Width: 8, NumClasses: 10, Seed: 4})
	before := snapshot(top)
	err := top.LoadFile(noFC)
	if err == nil {
		t.Fatal("LoadFile into an encoder with a top accepted a file without fc")
	}
	for _, k := range []string{"fc.weight", "fc.bias"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not mention %s: %v", k, err)
		}
	}
	checkBits(t, top, before)

	// A top of another size is a shape mismatch.
	top5 := newEncoder(t, Config{Depth: 18, Width: 8, NumClasses: 5})
	if err := top5.LoadFile(withFC); err == nil || !strings.Contains(err.Error(), "(5,64)") || !strings.Contains(err.Error(), "(10,64)") {
		t.Errorf("LoadFile with a 10-class fc into a 5-class encoder: %v", err)
	}
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	e := newEncoder(t, smallConfig)
	before := snapshot(e)

	load := func(path string) error {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("LoadFile(%s) panicked: %v", path, r)
			}
		}()
		return e.LoadFile(path)
	}

	missing := filepath.Join(dir, "nonexistent.safetensors")
	if err := load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v, want an error naming %s", err, missing)
	}

	good := filepath.Join(dir, "good.safetensors")
	src := newEncoder(t, Config{Depth: 18, Width: 8, Seed: 2})
	if err := src.SaveFile(good); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{len(b) / 2, len(b) - 1, 100, 8, 3, 0} {
		path := filepath.Join(dir, "cut.safetensors")
		if err := os.WriteFile(path, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if err := load(path); !errors.Is(err, safetensors.ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Errorf("file cut to %d of %d bytes: %v, want safetensors.ErrCorrupt naming %s", n, len(b), err, path)
		}
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("these are notes, not weights\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := load(text); !errors.Is(err, safetensors.ErrNotSafetensors) || !strings.Contains(err.Error(), text) {
		t.Errorf("text file: %v, want safetensors.ErrNotSafetensors naming %s", err, text)
	}
	if err := load(dir); err == nil {
		t.Error("LoadFile of a directory succeeded")
	}
	checkBits(t, e, before)
}

func TestLoadAllowMissing(t *testing.T) {
	src := newEncoder(t, smallConfig)
	fillNamed(src)
	dst := newEncoder(t, Config{Depth: 18, Width: 8, Seed: 6})
	want := snapshot(dst)
	var ts []safetensors.Tensor
	for _, tn := range tensorsOf(t, src) {
		if strings.HasPrefix(tn.Name, "layer4.") {
			continue
		}
		ts = append(ts, tn)
		want[tn.Name] = snapshot(src)[tn.Name]
	}
	path := filepath.Join(t.TempDir(), "partial.safetensors")
	writeFile(t, path, ts)

	if err := dst.LoadFile(path); err == nil || !strings.Contains(err.Error(), "layer4.0.conv1.weight") {
		t.Errorf("strict LoadFile of a partial file: %v", err)
	}
	if err := dst.LoadFileWith(path, layers.LoadOptions{AllowMissing: true}); err != nil {
		t.Fatal(err)
	}
	checkBits(t, dst, want)
}

// TestLoadFSAndFrom loads weights from an fs.FS and from bytes in memory
// and checks every parameter arrives bit for bit, and that errors name the
// file and keep their kinds.
func TestLoadFSAndFrom(t *testing.T) {
	src := newEncoder(t, smallConfig)
	fillNamed(src)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := src.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"weights/w.safetensors": {Data: b},
		"notes.txt":             {Data: []byte("these are notes, not weights\n")},
	}
	dst := newEncoder(t, Config{Depth: 18, Width: 8, Seed: 7})
	if err := dst.LoadFS(fsys, "weights/w.safetensors"); err != nil {
		t.Fatal(err)
	}
	checkBits(t, dst, snapshot(src))

	f, err := safetensors.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	dst = newEncoder(t, Config{Depth: 18, Width: 8, Seed: 8})
	if err := dst.LoadFrom(f, layers.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	checkBits(t, dst, snapshot(src))

	before := snapshot(dst)
	if err := dst.LoadFS(fsys, "notes.txt"); !errors.Is(err, safetensors.ErrNotSafetensors) || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("text file: %v, want safetensors.ErrNotSafetensors naming notes.txt", err)
	}
	wide := newEncoder(t, Config{Depth: 18, Width: 16})
	if err := wide.LoadFS(fsys, "weights/w.safetensors"); !errors.Is(err, ErrArchitecture) || !strings.Contains(err.Error(), "weights/w.safetensors") {
		t.Errorf("width 16 from width 8: %v, want ErrArchitecture naming the file", err)
	}
	checkBits(t, dst, before)
}
