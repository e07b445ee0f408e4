//go:build !windows

package diskfull

import "syscall"

var problems = []problem{
	{syscall.ENOSPC, "the disk that holds %s is full: free space on it", ""},
	{syscall.EDQUOT, "the disk quota of the account the connector runs as is used up on %s: free space in it, or raise the quota", ""},
	{syscall.EFBIG, "a file in %s has reached the largest size this process may write (ulimit -f, or LimitFSIZE= in the service's unit): lift that limit", ""},
	{syscall.EROFS, "the file system that holds %s is read-only (mounted so, or remounted read-only after disk errors: see the system's log): make it writable",
		"the service may not write %s: its unit (ProtectSystem=strict) lets it write only its data directory and the folders " +
			"it was installed with (ReadWritePaths=), so a folder set in its settings file since `service install` needs the " +
			"service installed again (neurons-connector service uninstall, then service install; the settings file and data stay); " +
			"else the file system is read-only (see the system's log)"},
}
