// Package lru is a small least-recently-used map, used to bound the caches
// of compiled inference graphs: each holds a whole network's buffers, so a
// cache keyed by batch size or input shape must not grow with every new
// size a caller tries.
package lru

// Cache maps keys to values and holds at most Max of them, dropping the
// least recently used one to make room. The zero Cache holds one entry.
// It is not safe for concurrent use.
type Cache[K comparable, V any] struct {
	Max   int
	items map[K]*entry[V]
	tick  uint64
}

type entry[V any] struct {
	v    V
	used uint64
}

// Get returns the value for k and marks it used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.tick++
	e.used = c.tick
	return e.v, true
}

// Put stores v for k, dropping the least recently used entry when the cache
// is full, and returns what it dropped.
func (c *Cache[K, V]) Put(k K, v V) (dropped []V) {
	if c.items == nil {
		c.items = make(map[K]*entry[V])
	}
	if _, ok := c.items[k]; !ok {
		for len(c.items) >= max(1, c.Max) {
			var oldK K
			var old *entry[V]
			for key, e := range c.items {
				if old == nil || e.used < old.used {
					oldK, old = key, e
				}
			}
			delete(c.items, oldK)
			dropped = append(dropped, old.v)
		}
	}
	c.tick++
	c.items[k] = &entry[V]{v: v, used: c.tick}
	return dropped
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int { return len(c.items) }
