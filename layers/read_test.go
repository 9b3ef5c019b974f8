package layers

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosiamese/gosiamese/internal/collecttest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestReadCollected: a struct holding a tape machine and the value box
// that Read fills is freed once dropped, and Read's box holds the value of
// each run.
func TestReadCollected(t *testing.T) {
	type holder struct {
		vm  G.VM
		out *G.Value
	}
	g := NewGraph(Inference, 0)
	x := G.NewVector(g.G, tensor.Float32, G.WithShape(3), G.WithName("x"))
	y, err := G.HadamardProd(x, x)
	if err != nil {
		t.Fatal(err)
	}
	h := &holder{out: Read(y)}
	h.vm = NewTapeMachine(g)
	if err := G.Let(x, tensor.New(tensor.WithBacking([]float32{1, 2, 3}))); err != nil {
		t.Fatal(err)
	}
	if err := Run(h.vm); err != nil {
		t.Fatal(err)
	}
	if got := (*h.out).Data().([]float32); got[0] != 1 || got[1] != 4 || got[2] != 9 {
		t.Fatalf("read %v, want [1 4 9]", got)
	}
	w := collecttest.Watch(h, h.out)
	h = nil
	if err := w.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestNoReadIntoStructs: outside Read, no code of the module calls
// gorgonia.Read, whose pointer into a struct that also holds the machine
// keeps the machine and every buffer alive for good (see Read). The
// gradient checker, which this package's tests import (so it cannot import
// the package), reads into local variables of a single call.
func TestNoReadIntoStructs(t *testing.T) {
	call := regexp.MustCompile(`\b(G|gorgonia)\.Read\(`)
	root := ".."
	allowed := map[string]bool{
		filepath.Join("..", "layers", "machine.go"):                  true,
		filepath.Join("..", "internal", "gradcheck", "gradcheck.go"): true,
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || allowed[path] {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if call.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d: gorgonia.Read; use layers.Read", path, i+1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
