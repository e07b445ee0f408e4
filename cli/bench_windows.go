//go:build windows

package cli

import "os"

// peakRSS is not read on Windows; the table shows n/a.
func peakRSS(*os.ProcessState) int64 { return 0 }
