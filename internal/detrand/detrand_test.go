package detrand

import "testing"

// The first values for "conv1.weight" in [-1, 1), as printed by
// testdata/torchvision_reference.py's generator (numpy, uint64 arithmetic).
func TestUniformMatchesRecipe(t *testing.T) {
	if h := Hash("a"); h != 0xaf63dc4c8601ec8c {
		t.Fatalf("FNV-1a of \"a\" = %#x, want 0xaf63dc4c8601ec8c", h)
	}
	v := Uniform("conv1.weight", 3, -1, 1)
	want := []float32{0.0901498794555664, 0.49032342433929443, -0.9541566371917725}
	for i := range want {
		if v[i] != want[i] {
			t.Fatalf("Uniform(\"conv1.weight\", 3, -1, 1) = %v, want %v", v, want)
		}
	}
	w := Uniform("conv1.weight", 3, -1, 1)
	for i := range v {
		if v[i] != w[i] {
			t.Fatal("two calls gave different values")
		}
	}
}
