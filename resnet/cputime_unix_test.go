//go:build unix

package resnet

import (
	"syscall"
	"time"
)

// cpuTime returns the processor time the process has used, user and
// system, or 0 when it cannot be read.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
