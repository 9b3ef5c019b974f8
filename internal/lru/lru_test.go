package lru

import "testing"

func TestCache(t *testing.T) {
	c := Cache[int, string]{Max: 2}
	if d := c.Put(1, "a"); len(d) != 0 {
		t.Fatalf("dropped %v from a cache with room", d)
	}
	c.Put(2, "b")
	if v, ok := c.Get(1); !ok || v != "a" {
		t.Fatalf("Get(1) = %q, %v", v, ok)
	}
	// 2 is now the least recently used
	if d := c.Put(3, "c"); len(d) != 1 || d[0] != "b" {
		t.Fatalf("Put(3) dropped %v, want [b]", d)
	}
	if _, ok := c.Get(2); ok {
		t.Fatal("2 is still there")
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	// replacing a key drops nothing
	if d := c.Put(3, "c2"); len(d) != 0 {
		t.Fatalf("replacing dropped %v", d)
	}
	if v, _ := c.Get(3); v != "c2" {
		t.Fatalf("Get(3) = %q after replacing", v)
	}
	var zero Cache[int, int]
	zero.Put(1, 1)
	zero.Put(2, 2)
	if zero.Len() != 1 {
		t.Fatalf("the zero Cache holds %d entries, want 1", zero.Len())
	}
}
