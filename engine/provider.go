package engine

import (
	"context"
	"errors"
	"time"
)

// Mode says whether a run reads every user or only those changed since the
// cursor.
type Mode string

// The run modes.
const (
	Full        Mode = "full"
	Incremental Mode = "incremental"
)

// FetchRequest asks a provider for one pass over its users.
type FetchRequest struct {
	Mode Mode
	// Cursor is what Fetch returned after the last complete pass, or nil.
	// Only the provider reads it.
	Cursor []byte
	// Statuses are the connector's selected user statuses, canonical names
	// as connector.Statuses lists them. A full pass returns at least the
	// users in them (a provider that reads the others anyway may return
	// them too; the engine keeps only the selected); an incremental pass
	// returns every changed user, whatever its status, so that a user who
	// left the selection is seen.
	Statuses []string
}

// User is one user as a provider returns it.
type User struct {
	ID     string         // the provider's immutable ID, the sink's sourceId
	Status string         // canonical status name
	Raw    map[string]any // the record mapping tables read
	// Partial marks a user an incremental pass read again only because of
	// its overlap: unchanged since the last complete pass, and without what
	// the provider adds to the user object (apps, devices). The engine skips
	// it if it knows the user, and otherwise asks the Completer for the rest.
	Partial bool
}

// Completer is implemented by providers that return Partial users.
type Completer interface {
	Complete(ctx context.Context, users []User) error
}

// UserFinder is implemented by providers that can read one user by ID. The
// engine asks it, once per ID and run, for a manager the pass did not
// return (one outside the selected statuses), so that reports still carry
// the manager's name, email and phone.
type UserFinder interface {
	FindUser(ctx context.Context, id string) (u User, found bool, err error)
}

// Provider is what the engine needs of an identity provider.
type Provider interface {
	// Fetch calls page for each page of users, in order, and returns the
	// cursor to keep once the pass is complete. An error from page stops the
	// pass and is returned as is; a failed pass returns no cursor, so the
	// next run starts from the old one.
	Fetch(ctx context.Context, req FetchRequest, page func([]User) error) (cursor []byte, err error)
}

// Stats are a provider client's counters for one run.
type Stats struct {
	Calls          int           // HTTP requests sent, retries included
	RateLimitWaits int           // times it waited for a rate-limit window or a 429
	RateLimitWait  time.Duration // total time spent waiting on rate limits
	Retries        int           // requests repeated after a transient failure
	Warnings       []string      // what the run did without, e.g. an unavailable API
	// Codes counts the responses by HTTP status; 0 counts requests that got
	// no response (network errors, timeouts).
	Codes map[int]int
}

// CountCode adds one response with status code (0: none) to s.
func (s *Stats) CountCode(code int) {
	if s.Codes == nil {
		s.Codes = map[int]int{}
	}
	s.Codes[code]++
}

// StatsReporter is implemented by providers that count their work.
type StatsReporter interface {
	Stats() Stats
}

// statsOf reads a provider's counters, zero if it keeps none.
func statsOf(p Provider) Stats {
	if sr, ok := p.(StatsReporter); ok {
		return sr.Stats()
	}
	return Stats{}
}

// Since is what was counted after before.
func (s Stats) Since(before Stats) Stats {
	out := Stats{Calls: s.Calls - before.Calls, RateLimitWaits: s.RateLimitWaits - before.RateLimitWaits,
		RateLimitWait: s.RateLimitWait - before.RateLimitWait, Retries: s.Retries - before.Retries}
	if len(s.Warnings) > len(before.Warnings) {
		out.Warnings = s.Warnings[len(before.Warnings):]
	}
	for code, n := range s.Codes {
		if d := n - before.Codes[code]; d > 0 {
			if out.Codes == nil {
				out.Codes = map[int]int{}
			}
			out.Codes[code] = d
		}
	}
	return out
}

// Error classes, matched with errors.Is. A provider wraps its errors with
// one of them at the HTTP boundary; the engine decides from the class alone.
var (
	// ErrTransient: the failure may pass by itself (429 after retries, 5xx,
	// network, timeout, a malformed response). The next run tries again.
	ErrTransient = errors.New("transient failure")
	// ErrConfig: an admin must act (bad credentials, missing permission,
	// unknown host, TLS trust). Retrying unchanged will not help.
	ErrConfig = errors.New("configuration error")
)
