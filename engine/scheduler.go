package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"neurons-connector/connector"
	"neurons-connector/store"
)

// Retry bounds of a connector whose scheduled run failed: 1 minute doubling
// to 30, and never past the connector's next regular slot.
const (
	retryBase = time.Minute
	retryCap  = 30 * time.Minute
)

// configRetry is the retry of a scheduled run that failed on a
// configuration error (credentials refused, a role missing: fault.ErrConfig),
// which only an admin can mend: retried every half hour it wrote 48 failed
// runs a day to the log. An edit of the connector (a new token) retries it
// at once (load), and the next slot, when sooner, still runs.
const configRetry = 6 * time.Hour

// Scheduler runs every connector of the database on its schedule, each in
// its own goroutine with its own pusher, so that one connector's failure or
// slowness never holds up another. It checks the clock every Tick rather
// than sleeping until the next slot, which keeps it right across suspends and
// clock changes, and re-reads the connectors every Poll (or at once after
// Reload), so edits made while it runs take effect without a restart.
type Scheduler struct {
	Engine *Engine
	Sink   Sink
	// Provider builds a connector's client for one run.
	Provider func(ctx context.Context, c connector.Config) (Provider, error)
	Server   string         // this daemon's NC_SERVER_NAME: it schedules only those connectors
	Local    *time.Location // the server's zone, for schedules that name none
	Tick     time.Duration  // default 1 s
	Poll     time.Duration  // default 15 s
	Drain    time.Duration  // at stop, how long pushers may go on delivering; default 2 s
	// Finished, if set, is told of every run's record (the metrics).
	Finished func(c connector.Config, r store.Run)
	// IdleLimit, if set, is how long a connector's credential may go
	// unused before its provider revokes it (Driver.IdleLimit; 0: it does
	// not lapse). When the connector's runs leave a third of that unused
	// (a monthly schedule, an inactive connector), the scheduler makes one
	// cheap call with the credential (keepAlive), so that the next run
	// does not find it revoked.
	IdleLimit func(c connector.Config) time.Duration

	mu      sync.Mutex
	workers map[string]*worker
	held    map[string]bool // connectors Hold keeps from running
	reload  chan struct{}
	ctx     context.Context // the scheduler's, while Run runs
	pushCtx context.Context // the pushers', which outlives ctx by Drain
	group   sync.WaitGroup
}

// State is what the scheduler knows of a connector beyond the database.
type State struct {
	NextRun      time.Time `json:"nextRun,omitzero"` // zero: not scheduled by this daemon
	Queued       bool      `json:"queued"`           // a scheduled run waits for the worker
	Running      bool      `json:"running"`
	RunningSince time.Time `json:"runningSince,omitzero"`
	Progress     Progress  `json:"progress"`
	Failures     int       `json:"failures"` // scheduled runs failed in a row
	RetryAt      time.Time `json:"retryAt,omitzero"`
	PushError    string    `json:"pushError,omitempty"` // why the pusher stopped
	// CredentialUsed is when the connector's credential was last used, as
	// far as this daemon knows: a run's start, or a keep-alive call (see
	// Scheduler.IdleLimit); KeepingAlive says such a call is queued or
	// under way.
	CredentialUsed time.Time `json:"credentialUsed,omitzero"`
	KeepingAlive   bool      `json:"keepingAlive,omitempty"`
}

// request asks a worker for one run (or, with keepAlive, for one cheap
// call with its credential); done, if set, receives its outcome.
type request struct {
	ctx       context.Context
	flags     RunFlags
	progress  func(Progress)
	done      chan outcome
	keepAlive bool
}

// RunFlags are what an explicit run asks for.
type RunFlags struct {
	Full           bool // read every user (run --full)
	ConfirmDeletes bool // let the deletes through the guard once (run --confirm-deletes)
	Resend         bool // upsert every selected user (run --resend)
}

type outcome struct {
	run store.Run
	err error
}

// worker is one connector's goroutine and state. Its fields are guarded by
// the scheduler's mutex.
type worker struct {
	c        connector.Config
	after    time.Time // slots at or before this are spent
	state    State
	requests chan request
	pusher   *Pusher
	pushStop func() error
	cancel   context.CancelFunc
	done     chan struct{}
	// ended says why the worker was ended while a run may be going on
	// (the connector removed, the daemon stopping), for that run's error.
	ended string
	// keepRetry is the earliest time for a keep-alive call after one
	// failed.
	keepRetry time.Time
}

// Run schedules until ctx ends, then stops every worker, gives the pushers
// up to Drain to deliver what is queued, and returns.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.Tick <= 0 {
		s.Tick = time.Second
	}
	if s.Poll <= 0 {
		s.Poll = 15 * time.Second
	}
	if s.Drain <= 0 {
		s.Drain = 2 * time.Second
	}
	pushCtx, stopPushers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPushers()
	s.mu.Lock()
	s.workers, s.held, s.reload, s.ctx, s.pushCtx = map[string]*worker{}, map[string]bool{}, make(chan struct{}, 1), ctx, pushCtx
	s.mu.Unlock()

	err := s.load()
	lastLoad := s.Engine.Clock.Now()
	for err == nil {
		now := s.Engine.Clock.Now()
		select {
		case <-s.reload:
			err = s.load()
			lastLoad = now
		default:
			if now.Sub(lastLoad) >= s.Poll {
				err = s.load()
				lastLoad = now
			}
		}
		if err != nil {
			break
		}
		s.dispatch(now)
		if s.Engine.Clock.Sleep(ctx, s.Tick) != nil {
			break
		}
	}
	s.shutdown(stopPushers)
	if err != nil {
		return fmt.Errorf("read the connectors: %w", err)
	}
	return nil
}

// Reload makes the scheduler re-read the connectors at its next tick.
func (s *Scheduler) Reload() {
	s.mu.Lock()
	ch := s.reload
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// load brings the workers in line with the database: new connectors get
// one, removed ones lose theirs, edited ones take the new configuration.
func (s *Scheduler) load() error {
	var all []connector.Config
	last := map[string]time.Time{}
	moved := map[string]bool{} // connectors whose users went to another sink than this daemon's
	err := s.Engine.DB.View(func(tx *store.Tx) error {
		var err error
		if all, err = tx.Connectors(); err != nil {
			return err
		}
		for _, c := range all {
			runs, err := tx.Runs(c.ID, 1)
			if err != nil {
				return err
			}
			if len(runs) == 1 {
				last[c.ID] = runs[0].Start
			}
			st, err := tx.SyncState(c.ID)
			if err != nil {
				return err
			}
			moved[c.ID] = SinkMoved(st, s.Engine.Sink, tx.SnapshotSize(c.ID))
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := s.Engine.Clock.Now()
	seen := map[string]bool{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range all {
		seen[c.ID] = true
		if s.held[c.ID] {
			continue
		}
		w, ok := s.workers[c.ID]
		if !ok {
			// Slots after the last run (or the connector's creation) are
			// due: a daemon that was down runs each connector once.
			after := last[c.ID]
			if after.IsZero() {
				after = c.Created
			}
			w = s.startWorker(c, s.notAhead(c, after, now))
			w.state.CredentialUsed = after // the last run, or the connector's creation with its credential
			if moved[c.ID] {
				// Started with another sink (new settings): the resend to it
				// goes now, not at the next slot, up to a day away, and the
				// batches that waited go with it (Pusher.SinkName).
				w.state.RetryAt = now
			}
			s.workers[c.ID] = w
		} else if scheduleMoved(w.c, c) {
			w.after, w.state.Failures, w.state.RetryAt = now, 0, time.Time{}
		} else if c.Updated.After(w.c.Updated) {
			// Edited: perhaps the fix of a failure (a new token), so a
			// failing run or keep-alive call is tried now, not hours later.
			w.keepRetry = time.Time{}
			if w.state.Failures > 0 {
				w.state.RetryAt = now
			}
		}
		w.c = c
		w.state.NextRun = s.nextFor(w)
	}
	for id, w := range s.workers {
		if !seen[id] {
			delete(s.workers, id)
			w.ended = fmt.Sprintf("connector %q was removed", w.c.Name)
			go w.end()
		}
	}
	return nil
}

// end stops the worker's goroutine and then its pusher.
func (w *worker) end() {
	w.cancel()
	<-w.done
	_ = w.pushStop()
}

// scheduleMoved reports an edit after which the old slots no longer count:
// a new period, time or zone, or a connector newly scheduled here.
func scheduleMoved(old, c connector.Config) bool {
	return old.Schedule != c.Schedule || old.Active != c.Active || old.Server != c.Server
}

// nextFor is the worker's next scheduled run, zero when this daemon does
// not schedule it.
func (s *Scheduler) nextFor(w *worker) time.Time {
	if !w.c.Active || w.c.Server != s.Server {
		return time.Time{}
	}
	next := w.c.Schedule.Next(w.after, s.Local)
	if !w.state.RetryAt.IsZero() && w.state.RetryAt.Before(next) {
		return w.state.RetryAt
	}
	return next
}

// dispatch queues a run for every worker whose slot has come. A worker that
// is still busy with an earlier run gets this one when it is done: slots
// missed meanwhile add up to one run.
func (s *Scheduler) dispatch(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		w.after = s.notAhead(w.c, w.after, now)
		next := s.nextFor(w)
		w.state.NextRun = next
		if next.IsZero() || now.Before(next) || w.state.Queued {
			continue
		}
		select {
		case w.requests <- request{ctx: context.Background()}:
			w.state.Queued, w.after, w.state.RetryAt = true, now, time.Time{}
			w.state.NextRun = s.nextFor(w)
		default: // the queue is full of explicit runs; try at the next tick
		}
	}
	for _, w := range s.workers {
		if s.keepAliveDue(w, now) {
			select {
			case w.requests <- request{ctx: context.Background(), keepAlive: true}:
				w.state.KeepingAlive = true
			default:
			}
		}
	}
}

// clockSlack is how far the clock may step back (an NTP correction) before
// the scheduler takes the slots it counted as spent for slots never run.
const clockSlack = time.Minute

// notAhead returns after, or now if after is later than now: the clock
// was set back (it had been ahead, and runs were dated by it, or a VM was
// restored). Slots counted from the later time would leave the connector
// without a run until the clock caught up with it, a year for a clock that
// had been a year ahead.
func (s *Scheduler) notAhead(c connector.Config, after, now time.Time) time.Time {
	if after.Sub(now) <= clockSlack {
		return after
	}
	s.Engine.Log.Warn("the clock is earlier than this connector's last scheduled run; its schedule goes on from now",
		"connector", c.Name, "last", after.Format(time.RFC3339), "now", now.Format(time.RFC3339))
	return now
}

// RunNow runs a connector at once, after any run it is busy with, and
// returns its record and the pusher that delivers its changes (for the
// caller to wait on). It ends early, cancelling the run, when ctx does.
func (s *Scheduler) RunNow(ctx context.Context, id string, flags RunFlags, progress func(Progress)) (store.Run, *Pusher, error) {
	s.mu.Lock()
	w, ok := s.workers[id]
	s.mu.Unlock()
	if !ok { // added a moment ago: read the connectors now
		if err := s.load(); err != nil {
			return store.Run{}, nil, err
		}
		s.mu.Lock()
		w, ok = s.workers[id]
		s.mu.Unlock()
	}
	if !ok {
		return store.Run{}, nil, fmt.Errorf("connector %s is being changed or removed; try again in a moment", id)
	}
	r := request{ctx: ctx, flags: flags, progress: progress, done: make(chan outcome, 1)}
	select {
	case w.requests <- r:
	case <-ctx.Done():
		return store.Run{}, nil, ctx.Err()
	case <-w.done:
		return store.Run{}, nil, s.endedError(w)
	}
	select {
	case o := <-r.done:
		return o.run, w.pusher, o.err
	case <-w.done:
		select {
		case o := <-r.done: // the run's own outcome, sent as the worker ended
			return o.run, w.pusher, o.err
		default:
		}
		return store.Run{}, nil, s.endedError(w)
	}
}

// endedError says why w ended before it ran a request.
func (s *Scheduler) endedError(w *worker) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.ended == "" {
		return errors.New("the daemon is stopping")
	}
	return errors.New(w.ended)
}

// Hold stops a connector's worker and pusher and waits until both have
// ended, so that its data can be removed with nothing else writing to it;
// until release is called the connector does not run. After release, a
// connector still in the database gets a new worker at the next reload.
func (s *Scheduler) Hold(id string) (release func()) {
	s.mu.Lock()
	w, ok := s.workers[id]
	delete(s.workers, id)
	if s.held != nil {
		s.held[id] = true
	}
	if ok {
		w.ended = fmt.Sprintf("connector %q is being removed", w.c.Name)
	}
	s.mu.Unlock()
	if ok {
		w.end()
	}
	return func() {
		s.mu.Lock()
		delete(s.held, id)
		s.mu.Unlock()
		s.Reload()
	}
}

// State returns what the scheduler knows of a connector; false when it has
// no worker for it (yet).
func (s *Scheduler) State(id string) (State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workers[id]
	if !ok {
		return State{}, false
	}
	st := w.state
	if err := w.pusher.Stopped(); err != nil {
		st.PushError = err.Error()
	}
	return st, true
}
