package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"neurons-connector/clock"
	"neurons-connector/fault"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// Sink is what the pusher needs of the receiving side: a batch body as the
// outbox keeps it, under its Idempotency-Key. Push returns nil once the
// batch is durably accepted (or was accepted before); its errors are
// *sink.Error. The program's one sink interface: sink.Neurons and sink.CSV
// implement it (checked in package local).
type Sink interface {
	Push(ctx context.Context, key string, p sink.Payload) error
}

// Counter is a Sink that also says how many records the sink acknowledged
// (sink.Neurons: {"accepted": N}), or -1 when its answer gives none: the
// pusher notes batches acknowledged short (store.Shortfall).
type Counter interface {
	PushCounted(ctx context.Context, key string, p sink.Payload) (accepted int, err error)
}

// Backoff bounds of the pusher after transient failures without a
// Retry-After (neurons-ingestion.md §3): 1 s doubling to 5 minutes. The cap
// bounds a Retry-After too: a maintenance page or a broken gateway may ask
// for a day, and changes should reach the sink within minutes of its
// return; one more answer costs little.
const (
	pushBackoffBase = time.Second
	pushBackoffCap  = 5 * time.Minute
)

// Pusher drains one connector's outbox into the sink, in order: a batch
// leaves the outbox only after the sink acknowledged it, and batch N+1 is not
// sent before N is. Transient failures are retried for as long as it takes,
// a database that cannot record a delivery (a full disk) included; a batch
// the sink rejects (or a configuration error) stops the pusher with the
// sink's message, the batch still in the outbox.
type Pusher struct {
	DB     *store.DB
	Sink   Sink
	ConnID string
	Clock  clock.Clock
	Log    *slog.Logger
	// SinkName names Sink as the connector's state does (Engine.Sink). The
	// batches waiting when the connector moved to this sink were queued for
	// the one before; the run that records the move (store.LeaveSink, which
	// remembers the users those batches delete as still held there) must
	// read them before any goes, so none does while the state names another
	// sink. Empty: no such wait (tests of the pusher alone).
	SinkName string

	kick chan struct{}

	// commit records a delivered batch: DB.Update, unless a test says
	// otherwise.
	commit func(func(*store.Tx) error) error

	mu           sync.Mutex
	stopped      error     // the permanent error that stopped Run
	stoppedSeq   uint64    // the batch it stopped on; 0 if none (a database error)
	lastErr      error     // the last transient failure
	lastWhat     string    // what failed last: the sink, or the database recording a delivery
	failingSince time.Time // zero while pushes succeed
}

// owed is a batch the sink accepted whose removal from the outbox the
// database refused (a full disk): it is recorded again, not sent again.
type owed struct {
	seq     uint64
	missing int
}

// NewPusher returns a pusher for one connector.
func NewPusher(db *store.DB, s Sink, connID string, c clock.Clock, log *slog.Logger) *Pusher {
	return &Pusher{DB: db, Sink: s, ConnID: connID, Clock: c, Log: log, kick: make(chan struct{}, 1)}
}

// Kick tells the pusher that the outbox has new batches.
func (p *Pusher) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Start runs the pusher in the background; stop ends it and returns what
// Run returned.
func (p *Pusher) Start(ctx context.Context) (stop func() error) {
	p.mu.Lock()
	p.stopped, p.stoppedSeq = nil, 0 // a restart tries the batch that stopped it again
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// Run pushes until ctx ends (returning nil) or a permanent error.
func (p *Pusher) Run(ctx context.Context) error {
	attempt := 0
	var debt *owed
	for {
		entry, ok, err := p.peek()
		if err != nil {
			return p.stop(err)
		}
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-p.kick:
			}
			continue
		}
		key := entry.Key
		var missing int
		if debt != nil && debt.seq == entry.Seq {
			missing = debt.missing // delivered already: only its record is owed
		} else {
			missing, err = p.push(ctx, key, sink.Payload(entry.Batch), entry.Records)
			if ctx.Err() != nil {
				return nil
			}
			if err == nil && missing > 0 {
				// Delivered, as the contract has it, but the sink's N says
				// it kept fewer: some users may be missing there.
				p.Log.Warn("the sink accepted fewer records than the batch held; a resend (run NAME --resend) sends every user again",
					"connector", p.ConnID, "batch", key, "records", entry.Records, "not_accepted", missing)
			}
		}
		if err == nil {
			debt = nil
			if err := p.record(entry, missing); err != nil {
				if !errors.Is(err, fault.ErrTransient) {
					return p.stop(err)
				}
				// A full disk: the sink has the batch, and sending it
				// again would only repeat it; recording it is retried
				// until space is freed, as a run's commit would be, so
				// the service goes on by itself once it is.
				debt = &owed{seq: entry.Seq, missing: missing}
				if p.wait(ctx, "the database has refused to record a delivered batch", key, err, pushBackoff(attempt)) != nil {
					return nil
				}
				attempt++
				continue
			}
			p.mu.Lock()
			p.failingSince, p.lastErr = time.Time{}, nil
			p.mu.Unlock()
			attempt = 0
			continue
		}
		if !errors.Is(err, fault.ErrTransient) {
			err = fmt.Errorf("batch %s (%d records) stays in the outbox: %w", key, entry.Records, err)
			if errors.Is(err, fault.ErrRejected) {
				// Kept in the database, so that a resend, in this process or
				// a later one, knows what it may replace (pass.replaceRejected).
				rej := store.Rejection{Seq: entry.Seq, Key: key, Records: entry.Records, Error: err.Error(), At: p.Clock.Now().UTC()}
				if derr := p.DB.Update(func(tx *store.Tx) error { return tx.PutRejection(p.ConnID, rej) }); derr != nil {
					p.Log.Error("record the rejected batch", "connector", p.ConnID, "error", derr)
				}
			}
			p.mu.Lock()
			p.stoppedSeq = entry.Seq
			p.mu.Unlock()
			return p.stop(err)
		}
		var wait time.Duration
		if se := (*sink.Error)(nil); errors.As(err, &se) {
			wait = min(se.RetryAfter, pushBackoffCap)
		}
		if wait <= 0 {
			wait = pushBackoff(attempt)
		}
		attempt++
		if p.wait(ctx, "the sink has failed", key, err, wait) != nil {
			return nil
		}
	}
}

// record takes a delivered batch out of the outbox, with what its delivery
// says: a rejection it ends, a shortfall.
func (p *Pusher) record(entry store.OutboxEntry, missing int) error {
	commit := p.commit
	if commit == nil {
		commit = p.DB.Update
	}
	return commit(func(tx *store.Tx) error {
		if r, ok := tx.Rejection(p.ConnID); ok && r.Seq == entry.Seq {
			// Refused before, accepted now (fixed on the sink's side).
			if err := tx.ClearRejection(p.ConnID); err != nil {
				return err
			}
		}
		if missing > 0 {
			if err := tx.AddShortfall(p.ConnID, entry.Key, missing, p.Clock.Now().UTC()); err != nil {
				return err
			}
		}
		return tx.RemoveOutbox(p.ConnID, entry.Seq)
	})
}

// wait notes a transient failure of batch key (what failed, for Drain's
// words) and waits d before the next try; it returns ctx's error if ctx
// ends first.
func (p *Pusher) wait(ctx context.Context, what, key string, err error, d time.Duration) error {
	p.mu.Lock()
	if p.failingSince.IsZero() {
		p.failingSince = p.Clock.Now()
	}
	p.lastErr, p.lastWhat = err, what
	p.mu.Unlock()
	p.Log.Warn(what+", retrying", "connector", p.ConnID, "batch", key, "wait", d, "error", err)
	return p.Clock.Sleep(ctx, d)
}

// push sends a batch of records; one the sink finds too large goes as two
// halves. missing is how many records the sink's acknowledgement left out.
func (p *Pusher) push(ctx context.Context, key string, payload sink.Payload, records int) (missing int, err error) {
	accepted := -1
	if c, ok := p.Sink.(Counter); ok {
		accepted, err = c.PushCounted(ctx, key, payload)
	} else {
		err = p.Sink.Push(ctx, key, payload)
	}
	if !errors.Is(err, fault.ErrTooLarge) {
		if err == nil && accepted >= 0 && accepted < records {
			missing = records - accepted
		}
		return missing, err
	}
	body, perr := payload.JSON()
	if perr != nil {
		return 0, fmt.Errorf("%w: %w", err, perr)
	}
	b, perr := sink.Parse(key, body)
	if perr != nil {
		return 0, fmt.Errorf("%w: %w", err, perr)
	}
	first, second, serr := b.Split()
	if serr != nil {
		return 0, fmt.Errorf("%w: %w", err, serr)
	}
	for _, half := range []*sink.Batch{first, second} {
		hb, err := half.Body()
		if err != nil {
			return 0, err
		}
		hp, err := sink.Pack(hb)
		if err != nil {
			return 0, err
		}
		m, err := p.push(ctx, half.Key, hp, half.Records())
		if err != nil {
			return 0, err
		}
		missing += m
	}
	return missing, nil
}

func (p *Pusher) peek() (store.OutboxEntry, bool, error) {
	var e store.OutboxEntry
	var ok bool
	err := p.DB.View(func(tx *store.Tx) error {
		if p.SinkName != "" {
			st, err := tx.SyncState(p.ConnID)
			if err != nil {
				return err
			}
			if SinkMoved(st, p.SinkName, tx.SnapshotSize(p.ConnID)) {
				return nil // the move is not recorded yet: a run's moved sink
			}
		}
		var err error
		e, ok, err = tx.PeekOutbox(p.ConnID)
		return err
	})
	return e, ok, err
}

func (p *Pusher) stop(err error) error {
	p.mu.Lock()
	p.stopped = err
	p.mu.Unlock()
	p.Log.Error("pushing stopped", "connector", p.ConnID, "error", err)
	return err
}

// Restart starts the pusher again (stop is what Start returned, and the
// result replaces it) if it stopped on a batch that has left the outbox
// since: a resend replaced the batches behind a rejection, and what waits
// now can go. Otherwise it returns stop as it is.
func (p *Pusher) Restart(ctx context.Context, stop func() error) func() error {
	if !p.unblocked() {
		return stop
	}
	_ = stop() // what stopped it is gone with its batch
	return p.Start(ctx)
}

// unblocked reports whether the pusher stopped on a batch that has left
// the outbox since.
func (p *Pusher) unblocked() bool {
	p.mu.Lock()
	stopped, seq := p.stopped, p.stoppedSeq
	p.mu.Unlock()
	if stopped == nil || seq == 0 {
		return false
	}
	e, ok, err := p.peek()
	return err == nil && (!ok || e.Seq != seq)
}

// Stopped returns the permanent error that stopped the pusher, or nil while
// it runs.
func (p *Pusher) Stopped() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

// ErrBacklog means the outbox could not be emptied in the time allowed.
var ErrBacklog = errors.New("changes are waiting in the outbox")

// Drain waits until the outbox is empty. It gives up when the pusher has
// stopped (returning its error) or when pushes have failed for longer than
// patience (returning ErrBacklog with the last failure).
func (p *Pusher) Drain(ctx context.Context, patience time.Duration) error {
	for {
		_, ok, err := p.peek()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		p.mu.Lock()
		stopped, last, what, since := p.stopped, p.lastErr, p.lastWhat, p.failingSince
		p.mu.Unlock()
		if stopped != nil {
			return stopped
		}
		if !since.IsZero() && p.Clock.Now().Sub(since) >= patience {
			return fmt.Errorf("%w: %s for %s: %w", ErrBacklog, what, p.Clock.Now().Sub(since).Round(time.Second), last)
		}
		p.Kick()
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx) // the daemon's stop names itself (api.ErrServiceStopping)
		case <-t.C:
		}
	}
}

// pushBackoff is exponential with full jitter.
func pushBackoff(attempt int) time.Duration {
	ceiling := time.Duration(math.Min(float64(pushBackoffBase)*math.Pow(2, float64(attempt)), float64(pushBackoffCap)))
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// Deliver is the one delivery path of a run or a purge outside the
// daemon's steady state: a pusher delivers what pass commits as it goes
// (pass calls kick after each commit), and once pass ends the pusher has
// patience to deliver the rest. It returns pass's error, and why changes
// still wait in the outbox (nil: none do).
func Deliver(ctx context.Context, p *Pusher, patience time.Duration, pass func(kick func()) error) (passErr, drainErr error) {
	stop := p.Start(ctx)
	passErr = pass(p.Kick)
	stop = p.Restart(ctx, stop)
	drainErr = p.Drain(ctx, patience)
	_ = stop() // a permanent error is what Drain returned
	return passErr, drainErr
}
