package siamese

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/safetensors"
)

// fuzzModelConfig is the model FuzzLoadModel's seed file holds.
func fuzzModelConfig() Config {
	return Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{8},
		Input:   preprocess.Config{Size: 32},
	}
}

// FuzzLoadModel writes arbitrary bytes to a file and loads it with Load
// and ReadHeader. Nothing may panic, errors carry the package prefix, and
// a model that loads has a valid configuration and threshold. The seeds
// are a valid tiny model file and damaged copies of it.
//
//	go test ./siamese -run '^$' -fuzz FuzzLoadModel -fuzztime 15s
func FuzzLoadModel(f *testing.F) {
	m, err := New(fuzzModelConfig())
	if err != nil {
		f.Fatal(err)
	}
	m.SetInfo("note", "fuzz seed")
	dir := f.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := m.Save(path); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		f.Fatalf("the seed model does not load: %v", err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:8])
	f.Add([]byte{})
	for _, edit := range [][2]string{
		{`"format_version":"1"`, `"format_version":"2"`},
		{`"format":"gosiamese-model"`, `"format":"gosiamese-modem"`},
		{`\"Depth\":18`, `\"Depth\":19`},
		{`\"Hidden\":[8]`, `\"Hidden\":[9]`},
		{`\"Width\":8`, `\"Width\":9`},
		{`\"Size\":32`, `\"Size\":99`},
		{`\"Distance\":\"l1\"`, `\"Distance\":\"l9\"`},
		{`"threshold":"0.5"`, `"threshold":"1.5"`},
		{`"info":"{`, `"info":"[`},
		{`"dtype":"F32"`, `"dtype":"F16"`},
		{`"shape":[8]`, `"shape":[9]`},
	} {
		if !bytes.Contains(valid, []byte(edit[0])) {
			f.Fatalf("seed edit %s: not in the model file", edit[0])
		}
		// Same-length edits keep the header length prefix valid.
		f.Add(bytes.Replace(valid, []byte(edit[0]), []byte(edit[1]), 1))
	}
	// A well-formed safetensors file that is not a model.
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, []safetensors.Tensor{safetensors.F32("conv1.weight", []int{1}, []float32{1})}, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())

	file := filepath.Join(dir, "fuzz.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		// Workers run one input at a time, so one file path is enough.
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		h, herr := ReadHeader(file)
		if herr != nil && !strings.HasPrefix(herr.Error(), "siamese: ") {
			t.Fatalf("ReadHeader: error without prefix: %v", herr)
		}
		m, err := Load(file)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "siamese: ") {
				t.Fatalf("Load: error without prefix: %v", err)
			}
			return
		}
		if herr != nil {
			t.Fatalf("Load accepted a file ReadHeader rejects: %v", herr)
		}
		if err := m.Config().Validate(); err != nil {
			t.Fatalf("loaded model has an invalid config: %v", err)
		}
		if th := m.Threshold(); th < 0 || th > 1 || th != h.Threshold {
			t.Fatalf("threshold %v, header says %v", th, h.Threshold)
		}
	})
}
