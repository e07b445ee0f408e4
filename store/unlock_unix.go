//go:build !windows

package store

import (
	"os"
	"syscall"
)

// unlock releases bbolt's lock on f after bbolt.Open panicked. Closing f
// is not enough: the file stays mapped, and the mapping keeps the open
// file, and with it the lock, alive.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) } //nolint:gosec // G115: a file descriptor fits an int
