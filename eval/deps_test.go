package eval

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoModelDependency keeps eval free of any model: computing an AUC or
// running one-shot tasks must not pull in Gorgonia (its graphs or its
// tensors) or the packages that build networks.
func TestNoModelDependency(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/gosiamese/gosiamese/"
	banned := []string{"gorgonia.org", mod + "siamese", mod + "resnet", mod + "layers", mod + "loss", mod + "train", mod + "data"}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		for _, b := range banned {
			if d == b || strings.HasPrefix(d, b+"/") {
				t.Errorf("eval depends on %s", d)
			}
		}
	}
}
