//go:build !windows

package httpclient

import (
	"errors"
	"syscall"
)

// refused says whether err is a connection the peer refused.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// systemProxy is what a failed connection's fix adds about the system's own
// proxy settings: nothing here, where HTTPS_PROXY is the convention.
const systemProxy = ""
