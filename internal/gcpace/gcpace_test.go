package gcpace

import (
	"runtime/debug"
	"testing"
)

func TestSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	Set()
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("without GOGC: pace %d, want %d", got, Percent)
	}
	t.Setenv("GOGC", "80")
	Set()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=80 set: Set changed the pace to %d", got)
	}
}
