// Package modeltest writes small model files for the example programs'
// tests: a Siamese model file and an encoder's bare weights, the two kinds
// the programs take with -model and -weights.
package modeltest

import (
	"path/filepath"
	"testing"

	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// Siamese saves an untrained Siamese model (ResNet-18 of width 8, one
// hidden layer of 16, 32x32 RGB input, initialised from seed) as
// dir/model.safetensors and returns the path.
func Siamese(t testing.TB, dir string, seed uint64) string {
	t.Helper()
	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Hidden: []int{16}, Input: preprocess.Config{Size: 32}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Weights saves the weights of an untrained ResNet-18 of width 8, without
// a model's metadata, as dir/resnet18.safetensors and returns the path.
func Weights(t testing.TB, dir string) string {
	t.Helper()
	enc, err := resnet.New(resnet.Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "resnet18.safetensors")
	if err := enc.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}
