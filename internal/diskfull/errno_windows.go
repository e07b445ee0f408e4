//go:build windows

package diskfull

import "syscall"

// Windows' codes (winerror.h); the syscall package names none of them.
const (
	errorWriteProtect      = syscall.Errno(19)
	errorHandleDiskFull    = syscall.Errno(39)
	errorDiskFull          = syscall.Errno(112)
	errorFileTooLarge      = syscall.Errno(223)
	errorDiskQuotaExceeded = syscall.Errno(1295)
)

var problems = []problem{
	{errorDiskFull, "the disk that holds %s is full: free space on it", ""},
	{errorHandleDiskFull, "the disk that holds %s is full: free space on it", ""},
	{errorDiskQuotaExceeded, "the disk quota of the account the connector runs as is used up on %s: free space in it, or raise the quota", ""},
	{errorFileTooLarge, "a file in %s has reached the largest size the file system allows: move the data directory to another volume", ""},
	{errorWriteProtect, "the disk that holds %s is write-protected: make it writable", ""},
}
