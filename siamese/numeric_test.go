package siamese

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	"gorgonia.org/tensor"
)

// TestSaveRefusesNonFinite: a NaN or infinite weight, BatchNorm statistic
// or extra tensor is never written; the error names the tensor and the
// element, and a model file already at the path is left as it was.
func TestSaveRefusesNonFinite(t *testing.T) {
	m := tinyModel(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Network().Params()
	var weight, stat *layers.Param
	for _, p := range ps {
		if p.State && stat == nil {
			stat = p
		}
		if !p.State && len(p.Float32s()) > 17 && weight == nil {
			weight = p
		}
	}
	if weight == nil || stat == nil {
		t.Fatal("no weight or BatchNorm statistic to poison")
	}
	moment := &layers.Param{Name: "train.opt.m.x", Value: tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{0, 1, 2, 3}))}
	cases := []struct {
		poison func() (restore func())
		extra  []*layers.Param
		want   string
	}{
		{func() func() { return poisonAt(weight, 17, float32(math.NaN())) }, nil, weight.Name + "[17] is NaN"},
		{func() func() { return poisonAt(stat, 0, float32(math.Inf(1))) }, nil, stat.Name + "[0] is +Inf"},
		{func() func() { return poisonAt(moment, 3, float32(math.Inf(-1))) }, []*layers.Param{moment}, moment.Name + "[3] is -Inf"},
	}
	for _, c := range cases {
		restore := c.poison()
		err := m.Network().SaveWith(path, c.extra, nil)
		restore()
		if err == nil {
			t.Fatalf("a model holding %s was saved", c.want)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "siamese: save "+path+": ") || !strings.Contains(msg, c.want) || !strings.Contains(msg, "not saved") {
			t.Errorf("error %q, want one naming %s", msg, c.want)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("saving a model holding %s changed the file at the path", c.want)
		}
		if _, err := Load(path); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing else was written, no temporary file either.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries after refused saves, want 1", len(entries))
	}
	// A refused save to a new path creates nothing.
	restore := poisonAt(weight, 0, float32(math.NaN()))
	fresh := filepath.Join(dir, "new.safetensors")
	if err := m.Save(fresh); err == nil {
		t.Error("a NaN weight was saved to a new file")
	}
	restore()
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused save left %s: %v", fresh, err)
	}
	// Once finite again, the model saves.
	if err := m.Save(fresh); err != nil {
		t.Fatal(err)
	}
}

// poisonAt puts v at p[i] and returns a function that puts the old value back.
func poisonAt(p *layers.Param, i int, v float32) func() {
	d := p.Float32s()
	old := d[i]
	d[i] = v
	return func() { d[i] = old }
}
