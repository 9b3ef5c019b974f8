package index

import (
	"errors"
	"fmt"
	"math"
	"runtime"
)

// Config configures Build and FromBulk. Zero fields take the defaults
// given, which depend on the number of vectors n.
type Config struct {
	// Lists is the number of inverted lists, the centroids k-means finds.
	// Default: sqrt(n) rounded, at least 1 (316 for 100,000 vectors, 1000
	// for 1,000,000). At most the number of vectors.
	Lists int

	// Probe is the number of lists a search scans, nearest centroids
	// first: more is slower and finds more of the true nearest vectors.
	// Default: Lists/8 rounded up. Saved with the index; SetProbe changes
	// it. At most Lists (Lists scans everything: an exact search).
	Probe int

	// Train is the number of vectors (a seeded sample) k-means learns the
	// centroids from, Lists to the number of vectors. Default: 64 x Lists,
	// or every vector if there are fewer.
	Train int

	// Iterations is the number of k-means (Lloyd) iterations. Default 10.
	Iterations int

	// Seed drives the sample, the first centroids and the replacement of
	// empty lists.
	Seed uint64

	// Workers is the number of goroutines that assign vectors to lists.
	// Default runtime.GOMAXPROCS(0). The index does not depend on it.
	Workers int
}

// WithDefaults returns c with its zero fields set to their defaults for
// an index of n vectors.
func (c Config) WithDefaults(n int) Config {
	if c.Lists == 0 {
		c.Lists = max(1, int(math.Round(math.Sqrt(float64(n)))))
	}
	if c.Probe == 0 {
		c.Probe = (c.Lists + 7) / 8
	}
	if c.Train == 0 {
		c.Train = min(64*c.Lists, n)
	}
	if c.Iterations == 0 {
		c.Iterations = 10
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// Validate reports a configuration Build cannot use (after WithDefaults).
func (c Config) Validate() error {
	switch {
	case c.Lists < 1 || c.Probe < 1 || c.Iterations < 1 || c.Workers < 1:
		return fmt.Errorf("index: Lists %d, Probe %d, Iterations %d and Workers %d must be at least 1", c.Lists, c.Probe, c.Iterations, c.Workers)
	case c.Probe > c.Lists:
		return fmt.Errorf("index: Probe %d: more than Lists %d", c.Probe, c.Lists)
	case c.Train < c.Lists:
		return fmt.Errorf("index: Train %d: fewer training vectors than Lists %d", c.Train, c.Lists)
	case c.Lists > maxLists:
		return fmt.Errorf("index: Lists %d: at most %d", c.Lists, maxLists)
	}
	return nil
}

// Limits of an index, which Load checks too.
const (
	maxLists = 1 << 20
	maxDim   = 1 << 16
	maxID    = 1 << 16 // bytes
)

var errNoVectors = errors.New("index: no vectors")
