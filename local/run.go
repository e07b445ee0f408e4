package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/store"
)

// Run runs a connector now and delivers its changes (a dry run computes
// them and changes nothing). events receives notes, progress and, for a
// dry run, each change. The result says how it ended; the error is only
// for a request that could not start (an unknown name, a bad flag).
func (b *Backend) Run(ctx context.Context, req api.RunRequest, events func(api.Event)) (api.RunResult, error) {
	if req.ConfirmDeletes && req.DryRun {
		return api.RunResult{}, api.BadInput("--confirm-deletes and --dry-run contradict each other: a dry run changes nothing; give one")
	}
	db, c, sec, err := b.openConnector(req.Name, true)
	if err != nil {
		return api.RunResult{}, err
	}
	defer func() { _ = db.Close() }()
	if !c.Active {
		events(api.Event{Note: fmt.Sprintf("connector %q is inactive: it never runs on schedule, but this explicit run goes ahead", c.Name)})
	}
	if c.Server != b.cfg.Server {
		events(api.Event{Note: fmt.Sprintf("connector %q belongs to server %q, not this host's %q", c.Name, c.Server, b.cfg.Server)})
	}
	if w := b.DataDirWarning(); w != "" && b.cfg.Scheduler == nil { // the daemon said so as it started
		events(api.Event{Note: w})
	}
	progress := func(p engine.Progress) { events(api.Event{Progress: &p}) }
	var run store.Run
	var runErr, drainErr error
	switch {
	case b.cfg.Scheduler != nil && !req.DryRun:
		// The daemon's worker for the connector runs it, after any run it
		// is busy with, and its pusher delivers.
		var pusher *engine.Pusher
		run, pusher, runErr = b.cfg.Scheduler.RunNow(ctx, c.ID, engine.RunFlags{Full: req.Full, ConfirmDeletes: req.ConfirmDeletes, Resend: req.Resend}, progress)
		if pusher != nil {
			drainErr = pusher.Drain(ctx, Patience)
		}
	default:
		prov, err := b.openProvider(c, sec)
		if err != nil {
			return api.RunResult{}, err
		}
		eng, err := b.engine(db)
		if err != nil {
			return api.RunResult{}, err
		}
		o := engine.Options{Full: req.Full, DryRun: req.DryRun, ConfirmDeletes: req.ConfirmDeletes, Resend: req.Resend, Progress: progress}
		if req.DryRun {
			o.Change = func(ch engine.Change) { events(api.Event{Change: dryChange(ch)}) }
			run, runErr = eng.Run(ctx, c, prov, o)
			break
		}
		pusher, err := b.pusher(db, c)
		if err != nil {
			return api.RunResult{}, err
		}
		runErr, drainErr = engine.Deliver(ctx, pusher, Patience, func(kick func()) error {
			o.Committed = kick
			var err error
			run, err = eng.Run(ctx, c, prov, o)
			return err
		})
	}
	return b.result(db, c, req.DryRun, run, runErr, drainErr), nil
}

// pusher is a pusher of c's outbox to the configured sink.
func (b *Backend) pusher(db *store.DB, c connector.Config) (*engine.Pusher, error) {
	s, err := b.cfg.Sink(db)
	if err != nil {
		return nil, err
	}
	p := engine.NewPusher(db, s, c.ID, b.cfg.Clock, b.cfg.Log)
	p.SinkName = b.cfg.SinkName
	return p, nil
}

// result is how a run ended, with what still waits for the sink.
func (b *Backend) result(db *store.DB, c connector.Config, dry bool, run store.Run, runErr, drainErr error) api.RunResult {
	out := api.RunResult{DryRun: dry}
	if run.ID != "" || dry {
		v := runView(run)
		out.Run = &v
	}
	var held *engine.HeldError
	switch {
	case errors.As(runErr, &held):
		out.Held = &api.Held{Count: held.Count, Why: held.Why, Hint: held.Hint}
	case runErr != nil:
		out.Error = runErr.Error()
	}
	if drainErr != nil {
		// The command says that changes wait in the outbox itself.
		out.DrainError = strings.TrimPrefix(drainErr.Error(), engine.ErrBacklog.Error()+": ")
		out.Refused = errors.Is(drainErr, fault.ErrRejected)
	}
	if !dry {
		_ = db.View(func(tx *store.Tx) error {
			out.Waiting, out.WaitingBatches = tx.OutboxRecords(c.ID), tx.OutboxDepth(c.ID)
			if sf, ok := tx.Shortfall(c.ID); ok && !sf.Last.Before(run.Start) {
				out.NotAccepted = sf.Records
			}
			return nil
		})
	}
	return out
}

// purge queues and delivers a delete for every user the connector
// delivered; it returns how many.
func (b *Backend) purge(ctx context.Context, name string) (int, error) {
	db, c, _, err := b.openConnector(name, false)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	eng, err := b.engine(db)
	if err != nil {
		return 0, err
	}
	pusher, err := b.pusher(db, c)
	if err != nil {
		return 0, err
	}
	var n int
	passErr, drainErr := engine.Deliver(ctx, pusher, Patience, func(kick func()) error {
		var err error
		n, err = eng.Purge(ctx, c, kick)
		return err
	})
	if err := cmp.Or(passErr, drainErr); err != nil {
		return 0, fmt.Errorf("purge of %q stopped; the connector is kept and its deletes wait in the outbox: %w", c.Name, err)
	}
	return n, nil
}

// dryChange is a change as a dry run prints it.
func dryChange(ch engine.Change) *api.Change {
	if ch.Reason != "" {
		return &api.Change{Delete: ch.SourceID, Reason: ch.Reason, Held: ch.Held}
	}
	return &api.Change{Upsert: ch.SourceID, Attributes: ch.Attributes}
}

// runView is a run record as status prints it.
func runView(r store.Run) api.Run {
	return api.Run{ID: r.ID, Mode: r.Mode, ModeReason: r.ModeReason, Start: r.Start, End: r.End,
		Result: r.Result, Error: r.Error, Warnings: r.Warnings,
		Fetched: r.Fetched, Upserted: r.Upserted, Deleted: r.Deleted, Reread: r.Reread, Held: r.Held, Confirmed: r.Confirmed, Resend: r.Resend, APICalls: r.APICalls,
		RateLimitWaits: r.RateLimitWaits, RateLimitWait: r.RateLimitWait.Round(time.Millisecond).String()}
}
