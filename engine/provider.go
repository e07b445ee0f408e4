package engine

import (
	"context"
	"fmt"
	"time"

	"neurons-connector/fault"
	"neurons-connector/store"
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
	// as the kind's connector.Spec lists them. A full pass returns at least the
	// users in them (a provider that reads the others anyway may return
	// them too; the engine keeps only the selected); an incremental pass
	// returns every changed user, whatever its status, so that a user who
	// left the selection is seen.
	Statuses []string
	// State reads what the provider kept of each user in earlier passes
	// (User.State); nil when the engine keeps nothing (a dry run still
	// reads it).
	State UserStates
	// MaxPages bounds every listing of the pass: a provider whose next
	// links never end fails the pass after this many pages of one listing
	// instead of reading forever. The engine derives it from the last
	// complete full pass; 0 leaves the provider's own cap.
	MaxPages int
	// Fields are the top-level fields of a user the mapping table reads
	// (mapping.Table.Fields). A provider may leave the others out of
	// User.Raw, keeping those it reads itself; nil asks for every field.
	Fields []string
	// Sources are the full source paths the mapping table reads
	// (mapping.Table.Sources, "devices.profile.platform"), for what a
	// provider can leave out below a top-level field; nil asks for all.
	Sources []string
	// Again, when the provider can read users by ID, is called once the
	// pass's listing is done (every page handed over, deletions included)
	// and before its cursor is made: it returns the users to read again
	// and hand over as the pass hands over its users (apps and devices
	// included), at the end, or none. They are the reports of managers
	// whose name, e-mail or phone the pass changed: their records carry
	// those, yet the reports themselves did not change at the source, so
	// an incremental listing does not return them (and a full one may
	// have returned them before their manager). A user read again that is
	// gone is left out. Nil in requests that want none.
	Again func() ([]string, error)
}

// User is one user as a provider returns it.
type User struct {
	ID     string         // the provider's immutable ID, the sink's sourceId
	Status string         // canonical status name
	Raw    map[string]any // the record mapping tables read
	// Deleted says the user is gone at the source, confirmed by the
	// provider (an incremental pass that learnt of a deletion): a user the
	// connector delivered is deleted with reason deleted-at-source. Only
	// ID is read.
	Deleted bool
	// State is what the provider wants to remember of the user until the
	// next pass (Okta: its apps and devices), kept in the user's snapshot
	// for users of the selected statuses; nil keeps what is stored.
	State []byte
	// Partial marks a user an incremental pass read again only because of
	// its overlap: unchanged since the last complete pass, and without what
	// the provider adds to the user object (apps, devices). The engine skips
	// it if it knows the user, and otherwise asks the Completer for the rest.
	Partial bool
}

// UserStates reads the state providers keep per user (User.State).
type UserStates interface {
	// States returns the stored state of each of ids that has one.
	States(ids []string) (map[string][]byte, error)
}

// FullRunChecker is implemented by providers whose cursor can go stale
// (Okta's System Log keeps 90 days, or a position dated in the future,
// AheadOfClock): a non-empty reason makes the run full.
type FullRunChecker interface {
	FullRunNeeded(cursor []byte, now time.Time) string
}

// SinkMoved reports whether a connector's users went to another sink than
// sink (the state's Sink, from the runs that queued them) and some were
// delivered there: the first run towards sink then resends every user and
// records the move (store.LeaveSink), and the outbox waits for it. Empty
// names (an earlier version's state, a test without sinks) move nothing.
func SinkMoved(st store.SyncState, sink string, delivered int) bool {
	return sink != "" && st.Sink != "" && st.Sink != sink && delivered > 0
}

// PendingResend is why a connector's next run resends every selected user,
// as its state says (a resend begun and not completed, or asked for by
// database salvage or restore); empty when it says nothing of the kind (a
// sink changed is SinkMoved's).
func PendingResend(st store.SyncState) string {
	switch st.Resend {
	case "":
		return ""
	case store.ResendAfterSalvage:
		return "resend of every selected user: `database salvage` could not read all of this connector's data"
	case store.ResendAfterRestore:
		return "resend of every selected user: the database was restored from a copy (`database restore`), and the sink may hold changes made since"
	}
	return fmt.Sprintf("resend begun by run %s, not completed", st.Resend)
}

// aheadSlack is how far a provider's stored position may be later than
// the provider's own clock now: positions are taken from its answers'
// times, so beyond seconds the clock was ahead when they were taken.
const aheadSlack = time.Hour

// AheadOfClock is the reason the next run must be full when a provider's
// stored position (pos, from the times of its answers) is more than an
// hour later than the time its answers give now (server): its clock, or a
// proxy that rewrote Date, was ahead when the position was taken, and an
// incremental pass asks for the changes after a time that has not come,
// finding none, with no error, until it does. Empty when pos is not ahead
// or server is unknown. The provider's clock, not this computer's, is the
// measure: a host whose own clock is wrong (a Windows server in the wrong
// time zone) must not make every run full.
func AheadOfClock(what string, pos, server time.Time) string {
	ahead := pos.Sub(server)
	if server.IsZero() || ahead <= aheadSlack {
		return ""
	}
	return fmt.Sprintf("the position stored from %s (%s) was %s later than its clock now; that clock (or a proxy that "+
		"rewrote Date) was ahead when it was stored, so changes since may have been skipped, and a full run reads everything again",
		what, pos.UTC().Format(time.RFC3339), ahead.Round(time.Minute))
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

// Sampler is implemented by providers that can read a few users now, as a
// full pass would return them, for mapping preview.
type Sampler interface {
	Sample(ctx context.Context, req SampleRequest) ([]User, error)
}

// SampleRequest asks for up to N users spread across Statuses; Fields are
// what the mapping reads, as in FetchRequest.
type SampleRequest struct {
	Statuses []string
	N        int
	Fields   []string
}

// UserReader is implemented by providers that can read one user now, by
// its ID, login or e-mail, as a full pass would return it (explain).
// fields are what the mapping reads, as in FetchRequest. A key several
// users answer to is an error of class fault.ErrBadInput.
type UserReader interface {
	ReadUser(ctx context.Context, key string, fields []string) (u User, found bool, err error)
}

// Identifier is implemented by providers that can name the tenant they
// read (an Okta org id, a OneLogin account), so that a run against another
// tenant than the last one holds its deletes instead of wiping the first
// tenant's users. An empty identity means "cannot tell".
type Identifier interface {
	Identity(ctx context.Context) (string, error)
}

// Checker is implemented by providers that can tell, with a few cheap
// calls, whether their URL and credentials work (connector test); known
// are some users the connector delivered, which tell an empty answer from
// a healthy one. It returns what it found, in words.
type Checker interface {
	Check(ctx context.Context, known []string) (string, error)
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
	// WaitingFor names what a request is waiting for right now (a rate-limit
	// bucket), and WaitingUntil until when; empty when nothing waits.
	WaitingFor   string
	WaitingUntil time.Time
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
		RateLimitWait: s.RateLimitWait - before.RateLimitWait, Retries: s.Retries - before.Retries,
		WaitingFor: s.WaitingFor, WaitingUntil: s.WaitingUntil}
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

// RateLimitedError ends a pass whose provider asked to wait longer than a
// run may (its rate-limit budget is spent until Until). It is transient;
// the scheduler tries again at Until rather than at the next slot.
type RateLimitedError struct {
	Until time.Time
	Err   error
}

func (e *RateLimitedError) Error() string { return e.Err.Error() }

// Unwrap exposes the cause and the class.
func (e *RateLimitedError) Unwrap() []error { return []error{e.Err, fault.ErrTransient} }

// MaxRateLimitWait is how long one request may wait in all on rate limits
// a provider announced (429s with a reset or Retry-After) before its pass
// gives up: announced waits are waits, not failures, but a run must end.
const MaxRateLimitWait = 15 * time.Minute

// MaxRateLimitDelay bounds how far ahead the scheduler retries a run a rate
// limit ended: an hour, the longest window of any provider supported
// (OneLogin's). A later Until is a broken answer, and taking it at its
// word would park the connector until the date it names.
const MaxRateLimitDelay = time.Hour
