// Package gcpace sets the garbage collector's pace for the example
// programs. A training or embedding run keeps hundreds of MiB of tensors
// live; Go's default pace (GOGC=100) lets the heap grow to twice the live
// data before it collects, so the programs' peak memory would be about
// twice what the tensors need. The tensors are pointer-free, so collecting
// more often costs little.
package gcpace

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC the programs use unless the environment sets one:
// the heap may grow by a quarter of the live data between collections.
const Percent = 25

// Set sets the collector's pace to Percent unless GOGC is set in the
// environment, which is left to rule.
func Set() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
}
