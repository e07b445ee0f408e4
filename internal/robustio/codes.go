package robustio

import "syscall"

// Windows' answers to a rename into or over a file another process holds
// open without sharing its deletion (winerror.h): an antivirus scanner for
// a moment, Excel for as long as it shows the file. They are defined on
// every system so that tests anywhere can name them; they mean this on
// Windows only.
const (
	AccessDenied     = syscall.Errno(5)
	SharingViolation = syscall.Errno(32)
	LockViolation    = syscall.Errno(33)
)

// HeldCodes are those answers.
var HeldCodes = []syscall.Errno{AccessDenied, SharingViolation, LockViolation}
