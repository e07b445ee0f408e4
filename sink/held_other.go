//go:build !windows

package sink

import "syscall"

// heldCodes is empty: a rename replaces a file whatever has it open, and
// the program that has it keeps reading the old one.
var heldCodes []syscall.Errno
