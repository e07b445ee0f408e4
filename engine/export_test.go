package engine

import "neurons-connector/store"

// SetMaxReread lowers the number of reports a run reads again by ID, for a
// test of what a run does beyond it; the returned func restores it.
func SetMaxReread(n int) (restore func()) {
	old := maxReread
	maxReread = n
	return func() { maxReread = old }
}

// SetCommit makes p record delivered batches with commit instead of
// DB.Update: a test's database that refuses some commits.
func (p *Pusher) SetCommit(commit func(func(*store.Tx) error) error) { p.commit = commit }

// The bounds of the retry after a configuration error (half to all of
// configRetry: spread with jitter).
const (
	ConfigRetryLeast = configRetry / 2
	ConfigRetryMost  = configRetry
)
