package api

import (
	"errors"
	"fmt"

	"neurons-connector/fault"
)

// BadInput returns an error of class fault.ErrBadInput.
func BadInput(format string, args ...any) error {
	return MarkBadInput(fmt.Errorf(format, args...))
}

// MarkBadInput puts err in class fault.ErrBadInput, keeping what it wraps.
// A request's bad input is the command's exit 2 (nothing was changed);
// every other error is an operation that failed (exit 1). The local
// socket carries the class across as a flag.
func MarkBadInput(err error) error { return fault.Mark(err, fault.ErrBadInput) }

// UnknownConnector is the error for a name no connector has.
func UnknownConnector(name string) error {
	return BadInput("no connector named %q; see the names with: neurons-connector connector list", name)
}

// ErrServiceStopping is why the daemon's requests end when it stops (a
// service stop, a reboot): the cause of their contexts' cancellation, so
// that a command waiting on one says so rather than "context canceled".
var ErrServiceStopping = errors.New("the neurons-connector service is stopping")
