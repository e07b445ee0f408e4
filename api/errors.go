package api

import (
	"errors"
	"fmt"
)

// ErrBadInput classifies an error that the request caused (bad usage or
// invalid input, an unknown connector name included): the command exits 2
// and nothing was changed. Every other error is an operation that failed
// (exit 1). It is the one classification of the command layer; the local
// socket carries it across as a flag.
var ErrBadInput = errors.New("bad input")

// BadInput returns an error of class ErrBadInput.
func BadInput(format string, args ...any) error {
	return MarkBadInput(fmt.Errorf(format, args...))
}

// MarkBadInput puts err in class ErrBadInput, keeping what it wraps.
func MarkBadInput(err error) error {
	if err == nil || errors.Is(err, ErrBadInput) {
		return err
	}
	return &badInput{err}
}

type badInput struct{ err error }

func (b *badInput) Error() string   { return b.err.Error() }
func (b *badInput) Unwrap() []error { return []error{b.err, ErrBadInput} }

// UnknownConnector is the error for a name no connector has.
func UnknownConnector(name string) error {
	return BadInput("no connector named %q; see the names with: neurons-connector connector list", name)
}
