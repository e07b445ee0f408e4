//go:build !windows

package cli

import (
	"os"
	"syscall"
)

// peakRSS is a finished child's peak resident memory (Linux reports KiB).
func peakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}
