// Package fault is the program's one classification of errors. An error
// is classified once, where it is understood (a provider's or the sink's
// HTTP boundary, a request's validation), by wrapping it in one of the
// classes below; everyone else decides with errors.Is alone and never looks
// at status codes or message text.
package fault

import "errors"

// The classes. An error may be in none of them: an unclassified failure
// is reported as it is and not retried.
var (
	// ErrTransient: the failure may pass by itself (429 after its waits,
	// 5xx, network, timeout, a malformed or truncated response). The next
	// attempt or run tries again.
	ErrTransient = errors.New("transient failure")
	// ErrConfig: an admin must act (bad credentials, missing permission,
	// unknown host, untrusted TLS). Retrying unchanged will not help.
	ErrConfig = errors.New("configuration error")
	// ErrRejected: the other side refused the content of this request
	// (400); it is never sent again unchanged.
	ErrRejected = errors.New("rejected")
	// ErrTooLarge: the other side refused the size of this request (413);
	// it is split and the halves are sent.
	ErrTooLarge = errors.New("request too large")
	// ErrBadInput: the command's input is wrong (a flag, an option, a CSV
	// file, an unknown connector name). Nothing was changed; the command
	// exits 2.
	ErrBadInput = errors.New("bad input")
)

// Mark returns err in class, keeping what err wraps; nil stays nil, and an
// error already in class is returned as it is.
func Mark(err, class error) error {
	if err == nil || errors.Is(err, class) {
		return err
	}
	return &marked{err, class}
}

type marked struct{ err, class error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.class} }
