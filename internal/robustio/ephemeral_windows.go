package robustio

import (
	"errors"
	"syscall"
)

// Windows' codes for a file another process holds for a moment
// (winerror.h): what a scanner's open gives a rename into or over it.
const (
	errorAccessDenied     = syscall.Errno(5)
	errorSharingViolation = syscall.Errno(32)
	errorLockViolation    = syscall.Errno(33)
)

func ephemeral(err error) bool {
	var code syscall.Errno
	return errors.As(err, &code) && (code == errorAccessDenied || code == errorSharingViolation || code == errorLockViolation)
}
