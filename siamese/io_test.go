package siamese

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/safetensors"
	"gorgonia.org/tensor"
)

func TestSaveLoadScoresBitIdentically(t *testing.T) {
	for _, edit := range []func(*Config){
		nil,
		func(c *Config) { c.SeparateTowers = true; c.Distance = Cosine },
		func(c *Config) { c.Encoder.Pooling = resnet.PoolNone; c.Distance = L2; c.Input.Channels = 1 },
		func(c *Config) { c.Input.Invert = true; c.Input.Norm = preprocess.UnitRange },
	} {
		m := tinyModel(t, edit)
		// Move the BatchNorm statistics and weights away from their
		// initial values, as training would.
		for i, p := range m.Network().Params() {
			for j := range p.Float32s() {
				p.Float32s()[j] += float32((i+j)%7) * 0.01
			}
		}
		if err := m.SetThreshold(0.73); err != nil {
			t.Fatal(err)
		}
		m.SetInfo("trained_on", "noise")
		path := filepath.Join(t.TempDir(), "model.safetensors")
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		l, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		imgs := testImages()
		for i := range imgs {
			a, b := imgs[i], imgs[(i+3)%len(imgs)]
			s1, err := m.Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := l.Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if s1 != s2 {
				t.Errorf("pair %d: saved model %v, loaded %v", i, s1, s2)
			}
		}
		if l.Threshold() != 0.73 || l.Info()["trained_on"] != "noise" {
			t.Errorf("threshold %v, info %v not restored", l.Threshold(), l.Info())
		}
		if got, want := l.Config(), m.Config(); got.Distance != want.Distance || got.SeparateTowers != want.SeparateTowers || got.Input != want.Input || got.Encoder != want.Encoder {
			t.Errorf("config %+v, want %+v", got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, nil)
	good := filepath.Join(dir, "good.safetensors")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	meta := f.Metadata
	f.Close()
	ts, err := layers.Tensors(m.Network().Params())
	if err != nil {
		t.Fatal(err)
	}
	withMeta := func(name string, edit func(map[string]string)) string {
		md := map[string]string{}
		for k, v := range meta {
			md[k] = v
		}
		edit(md)
		p := filepath.Join(dir, name)
		if err := safetensors.WriteFile(p, ts, md); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := filepath.Join(dir, "truncated.safetensors")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	encoderOnly := filepath.Join(dir, "encoder.safetensors")
	if err := m.Network().Encoder(0).SaveFile(encoderOnly); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("these are my notes, not a model\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want string
		kind error // the one of kinds that the error wraps, or nil
	}{
		{filepath.Join(dir, "missing.safetensors"), "missing.safetensors", nil},
		{truncated, "truncated.safetensors", ErrDamaged},
		{notes, "not a model file", ErrNotModel},
		{encoderOnly, "not a model file", ErrNotModel},
		{withMeta("v9.safetensors", func(md map[string]string) { md["format_version"] = "9" }), "unknown format version", nil},
		{withMeta("arch.safetensors", func(md map[string]string) {
			md["config"] = strings.Replace(md["config"], `"Depth":18`, `"Depth":34`, 1)
		}), "missing encoder.layer1.2.conv1.weight", ErrArchitecture},
		{withMeta("width.safetensors", func(md map[string]string) {
			md["config"] = strings.Replace(md["config"], `"Hidden":[16,8]`, `"Hidden":[16,9]`, 1)
		}), "the config needs head.1.weight [9 16], the file has [8 16]", ErrArchitecture},
		// A header claiming a huge model fails before anything is allocated.
		{withMeta("huge.safetensors", func(md map[string]string) {
			md["config"] = strings.Replace(md["config"], `"Hidden":[16,8]`, `"Hidden":[268435456,8]`, 1)
		}), "head.0.weight", ErrArchitecture},
		{withMeta("wide.safetensors", func(md map[string]string) {
			md["config"] = strings.Replace(md["config"], `"Width":8`, `"Width":4096`, 1)
		}), "encoder.conv1.weight", ErrArchitecture},
		{withMeta("junk.safetensors", func(md map[string]string) { md["config"] = `{"Depth":"x"}` }), "config", ErrDamaged},
		{withMeta("thr.safetensors", func(md map[string]string) { md["threshold"] = "2" }), "threshold", ErrDamaged},
	}
	kinds := []error{ErrNotModel, ErrDamaged, ErrArchitecture}
	for _, c := range cases {
		_, err := Load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Base(c.path)) {
			t.Errorf("Load(%s): %v; want an error naming the file and containing %q", filepath.Base(c.path), err, c.want)
		}
		for _, k := range kinds {
			if got := errors.Is(err, k); got != (k == c.kind) {
				t.Errorf("Load(%s): errors.Is(%q, %q) = %v", filepath.Base(c.path), err, k, got)
			}
		}
	}
	// The safetensors layer's own kinds come through too.
	if _, err := ReadHeader(notes); !errors.Is(err, ErrNotModel) || !errors.Is(err, safetensors.ErrNotSafetensors) ||
		!strings.Contains(err.Error(), "8-byte little-endian header length followed by '{'") {
		t.Errorf("ReadHeader(notes.txt): %v", err)
	}
	if _, err := Load(truncated); !errors.Is(err, safetensors.ErrCorrupt) {
		t.Errorf("Load(truncated): %v does not wrap safetensors.ErrCorrupt", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing): %v does not wrap fs.ErrNotExist", err)
	}
}

// TestSaveIsAtomic: a save that fails leaves the model already on disk.
func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	m := tinyModel(t, nil)
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A parameter of the wrong dtype makes the save fail.
	bad := tinyModel(t, nil)
	bad.out.Bias.Value = tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(1))
	if err := bad.Save(path); err == nil {
		t.Fatal("a model with a float64 parameter saved")
	}
	after, err := os.ReadFile(path)
	if err != nil || string(before) != string(after) {
		t.Fatal("a failed save changed the model on disk")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files left in the folder, want 1", len(entries))
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

// TestEncoderWeights: pretrained encoder weights plug straight into New,
// in both towers when they are separate.
func TestEncoderWeights(t *testing.T) {
	enc, err := resnet.New(resnet.Config{Depth: 18, Width: 8, Seed: 42, NumClasses: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "encoder.safetensors")
	if err := enc.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	for _, sep := range []bool{false, true} {
		m := tinyModel(t, func(c *Config) { c.EncoderWeights = path; c.SeparateTowers = sep })
		for tower := range Tower(2) {
			for _, p := range enc.Params() {
				if p.Name[:3] == "fc." {
					continue
				}
				q := m.Network().Encoder(tower).Param(p.Name)
				for i, v := range p.Float32s() {
					if q.Float32s()[i] != v {
						t.Fatalf("tower %d: %s not loaded", tower, p.Name)
					}
				}
			}
		}
	}
	if _, err := New(Config{Encoder: resnet.Config{Depth: 34, Width: 8}, Input: preprocessConfig(32), EncoderWeights: path}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("ResNet-18 weights into a ResNet-34: %v", err)
	}
}

// TestSaveWithExtras: a caller's tensors and metadata ride along in the
// model file and Load ignores them, but they cannot take a name of the
// model's, and a stray tensor under the model's own names still fails.
func TestSaveWithExtras(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, nil)
	n := m.Network()
	extra := &layers.Param{Name: "opt.moment", Value: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 2}))}
	path := filepath.Join(dir, "checkpoint.safetensors")
	if err := n.SaveWith(path, []*layers.Param{extra}, map[string]string{"opt.step": "7"}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, hasTensor := f.Info("opt.moment")
	step := f.Metadata["opt.step"]
	f.Close()
	if !hasTensor || step != "7" {
		t.Fatalf("extras not written: tensor %v, metadata %q", hasTensor, step)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	imgs := testImages()
	s1, _ := m.Compare(imgs[0], imgs[1])
	s2, err := l.Compare(imgs[0], imgs[1])
	if err != nil || s1 != s2 {
		t.Errorf("loaded checkpoint scores %v (%v), model %v", s2, err, s1)
	}
	stray := &layers.Param{Name: "head.9.weight", Value: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0}))}
	if err := n.SaveWith(filepath.Join(dir, "x.safetensors"), []*layers.Param{stray}, nil); err == nil || !strings.Contains(err.Error(), "head.9.weight") {
		t.Errorf("an extra tensor named like the model's: %v", err)
	}
	if err := n.SaveWith(filepath.Join(dir, "y.safetensors"), nil, map[string]string{"threshold": "0.1"}); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Errorf("an extra metadata key of the model's: %v", err)
	}
	ts, err := layers.Tensors(append(n.Params(), stray))
	if err != nil {
		t.Fatal(err)
	}
	f, err = safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := f.Metadata
	f.Close()
	bad := filepath.Join(dir, "stray.safetensors")
	if err := safetensors.WriteFile(bad, ts, meta); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "unexpected head.9.weight") {
		t.Errorf("Load of a file with a stray model tensor: %v", err)
	}
}
