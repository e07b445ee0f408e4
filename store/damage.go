package store

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"neurons-connector/fault"
)

// A database file can be damaged in ways bbolt cannot prevent: a virtual
// disk that acknowledged a write it lost in a power cut, a backup copied
// while the service was writing and restored later, a bad sector. bbolt
// checks little when it reads a page, and meets garbage with a panic
// ("invalid page type", "invalid freelist page", an index out of range) or
// a memory fault, which took the whole program down with a Go stack trace,
// the daemon again at every restart. The store turns those into a
// DamagedError that says what to do; `database salvage` copies what can
// still be read into a new file.

// ErrDamaged means the database file is damaged.
var ErrDamaged = errors.New("database is damaged")

// DamagedError says which file is damaged, what bbolt met, and the fix.
type DamagedError struct {
	Path  string
	Cause string // what bbolt reported, on one line
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("database %s is damaged (%s): stop the service and run `neurons-connector database salvage`, "+
		"or restore a backup with `neurons-connector database restore FILE` (README: A damaged database)", e.Path, e.Cause)
}

// Unwrap lets errors.Is match ErrDamaged, and classifies the damage as a
// configuration error: an admin must act, and retrying will not help.
func (e *DamagedError) Unwrap() []error { return []error{ErrDamaged, fault.ErrConfig} }

// damage is what a database and the handles borrowed from it share: the
// first damage met, for /healthz.
type damage struct{ first atomic.Pointer[DamagedError] }

// Damaged returns the damage met so far in this process, or nil.
func (d *DB) Damaged() error {
	if e := d.damage.first.Load(); e != nil {
		return e
	}
	return nil
}

// guard runs fn, turning a panic raised inside bbolt, or a memory fault,
// into a DamagedError. Another panic (a bug in fn) goes on as a panic:
// calling it damage would send the admin to salvage a sound file.
func (d *DB) guard(fn func() error) (err error) {
	// A page number past the end of the file makes bbolt read beyond its
	// mapping; with this, that is a panic here rather than a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		// A fault at an address (not a nil dereference) can only be the
		// mapped file here: a sector the disk cannot read faults wherever
		// the page is first touched, in bbolt or in fn copying a value.
		_, fault := p.(interface{ Addr() uintptr })
		if !fault && !raisedInBolt() {
			panic(p)
		}
		e := &DamagedError{Path: d.path, Cause: oneLine(fmt.Sprint(p))}
		d.damage.first.CompareAndSwap(nil, e)
		err = e
	}()
	return fn()
}

// raisedInBolt reports whether the panic being recovered was raised in
// bbolt's code: the first frame below runtime.gopanic that is not the
// runtime's own (runtime.panicIndex, runtime.sigpanic and the like).
// It must be called from the deferred function that recovers.
func raisedInBolt() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return strings.HasPrefix(f.Function, "go.etcd.io/bbolt")
		}
		if !more {
			return false
		}
	}
}

// oneLine keeps a panic's message to one printable line of reasonable size.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return ' '
		}
		return r
	}, s)
	const most = 200
	if len(s) > most {
		s = strings.ToValidUTF8(s[:most], "") + "…"
	}
	return strings.TrimSpace(s)
}
