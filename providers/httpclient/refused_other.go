//go:build !windows

package httpclient

import (
	"errors"
	"syscall"
)

// refused says whether err is a connection the peer refused.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
