// Package diskfull tells a write that the disk, or a limit on it, refused:
// no space left, the account's quota used up, the largest file the process
// may write, a file system that is read-only. Each needs an admin to free
// space or lift a limit, and each passes once one has; a program that says
// only "file resize error: truncate …: file too large" leaves them to guess
// which.
package diskfull

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// problem is one such refusal: the OS's error and what it means for dir.
type problem struct {
	errno syscall.Errno
	words string // with %s for the folder
	// sandboxed is what it most likely means for a service systemd runs:
	// its unit's sandbox, not the disk (sandboxed).
	sandboxed string
}

// sandboxed says whether systemd started this process as a service (it
// sets INVOCATION_ID for a service's processes, not for a login shell's),
// whose unit (ProtectSystem=strict) lets it write only the folders named
// in ReadWritePaths=; a variable for tests.
var sandboxed = func() bool { return os.Getenv("INVOCATION_ID") != "" }

// Describe says, for a write into dir that failed with err, what refused it
// and the fix ("the disk that holds /var/lib/x is full: free space on
// it"), and false when err is no such refusal. Errors that kept their
// cause are matched by it; bbolt flattens the OS's error into its own
// message ("file resize error: %s"), so the OS's own words for it, from
// this process (Windows words them in the system's language), are looked
// for too.
func Describe(err error, dir string) (string, bool) {
	if err == nil {
		return "", false
	}
	msg := err.Error()
	for _, p := range problems {
		if errors.Is(err, p.errno) || strings.Contains(msg, p.errno.Error()) {
			if p.sandboxed != "" && sandboxed() {
				return fmt.Sprintf(p.sandboxed, dir), true
			}
			return fmt.Sprintf(p.words, dir), true
		}
	}
	return "", false
}
