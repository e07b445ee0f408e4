//go:build windows

package cli

import (
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// peakRSS is not read on Windows; the table shows n/a.
func peakRSS(*os.ProcessState) int64 { return 0 }

// processCPU is this process's user + kernel time so far, from the OS; 0
// if it cannot tell.
func processCPU() time.Duration {
	var created, exited, kernel, user windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user) != nil {
		return 0
	}
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) } // 100 ns each
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
