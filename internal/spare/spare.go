// Package spare keeps a few large buffers between uses. sync.Pool is the
// usual tool, but the collector empties a pool at every cycle, and near the
// soft memory limit of a large run (GOMEMLIMIT) it cycles every few pages:
// the buffers of a 1,000,000-user run were then allocated and grown again
// for nearly every page and batch. A List keeps what it is given, up to its
// bound, until it is taken again.
package spare

import "sync"

// List holds up to Max spare values; the zero List holds none. New makes a
// value when none is spare.
type List[T any] struct {
	New func() T
	Max int

	mu    sync.Mutex
	items []T
}

// Get returns a spare value, or a new one.
func (l *List[T]) Get() T {
	l.mu.Lock()
	if n := len(l.items); n > 0 {
		v := l.items[n-1]
		var zero T
		l.items[n-1] = zero
		l.items = l.items[:n-1]
		l.mu.Unlock()
		return v
	}
	l.mu.Unlock()
	return l.New()
}

// Put keeps v for a later Get, unless Max values are kept already.
func (l *List[T]) Put(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) < l.Max {
		l.items = append(l.items, v)
	}
}
