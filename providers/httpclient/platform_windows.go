package httpclient

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// refused says whether err is a connection the peer refused. Winsock says
// so with WSAECONNREFUSED, which syscall.ECONNREFUSED (a number Go made up
// for Windows) does not match: without it, a refused connection read as
// "the connection failed" there.
func refused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, syscall.ECONNREFUSED)
}

// systemProxy adds to the fix of a connection that failed or timed out:
// the service reads no proxy from Windows' own settings.
const systemProxy = "; a proxy set in Internet Options or with netsh winhttp is not read: set HTTPS_PROXY in the service's settings file"
