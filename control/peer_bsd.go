//go:build darwin || freebsd

package control

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerUID is the user of the process at the other end of a Unix socket,
// as the kernel recorded it (LOCAL_PEERCRED).
func peerUID(c net.Conn) (int, error) {
	var uid int
	err := withFD(c, func(fd int) error {
		cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if err == nil {
			uid = int(cred.Uid)
		}
		return err
	})
	return uid, err
}
