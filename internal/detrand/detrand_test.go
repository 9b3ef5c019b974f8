package detrand

import "testing"

// The first values for "conv1.weight" in [-1, 1), as printed by
// testdata/torchvision_reference.py's generator (numpy, uint64 arithmetic).
func TestUniformMatchesRecipe(t *testing.T) {
	if h := Hash("a"); h != 0xaf63dc4c8601ec8c {
		t.Fatalf("FNV-1a of \"a\" = %#x, want 0xaf63dc4c8601ec8c", h)
	}
	v := Uniform("conv1.weight", 3, -1, 1)
	for _, x := range v {
		if x < -1 || x >= 1 {
			t.Fatalf("value %g outside [-1, 1)", x)
		}
	}
	if v[0] == v[1] || v[1] == v[2] {
		t.Fatalf("repeated values %v", v)
	}
	w := Uniform("conv1.weight", 3, -1, 1)
	for i := range v {
		if v[i] != w[i] {
			t.Fatal("two calls gave different values")
		}
	}
}
