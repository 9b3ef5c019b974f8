//go:build !unix

package resnet

import "time"

// cpuTime returns 0: the processor time is not read on this OS.
func cpuTime() time.Duration { return 0 }
