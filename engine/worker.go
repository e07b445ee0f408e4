package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"neurons-connector/connector"
	"neurons-connector/fault"
	"neurons-connector/store"
)

// startWorker starts a connector's goroutine and pusher; s.mu is held.
func (s *Scheduler) startWorker(c connector.Config, after time.Time) *worker {
	wctx, cancel := context.WithCancel(s.ctx)
	w := &worker{c: c, after: after, requests: make(chan request, 4), cancel: cancel, done: make(chan struct{}),
		pusher: NewPusher(s.Engine.DB, s.Sink, c.ID, s.Engine.Clock, s.Engine.Log)}
	w.pusher.SinkName = s.Engine.Sink
	w.pushStop = w.pusher.Start(s.pushCtx)
	s.group.Add(1)
	go func() {
		defer s.group.Done()
		defer close(w.done)
		for {
			select {
			case <-wctx.Done():
				return
			case r := <-w.requests:
				s.execute(wctx, w, r)
			}
		}
	}()
	return w
}

// execute performs one run in the worker's goroutine.
func (s *Scheduler) execute(ctx context.Context, w *worker, r request) {
	if r.keepAlive {
		s.keepAlive(ctx, w)
		return
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The request's end ends the run, with its cause: a daemon that stops
	// ends its requests naming itself (api.ErrServiceStopping), often
	// before its scheduler's shutdown has marked the worker ended.
	defer context.AfterFunc(r.ctx, func() { cancel(context.Cause(r.ctx)) })()
	s.mu.Lock()
	c, scheduled := w.c, r.done == nil
	w.state.CredentialUsed = s.Engine.Clock.Now() // the run calls the provider with the credential
	if scheduled {
		w.state.Queued = false
	}
	if w.pusher.Stopped() != nil {
		_ = w.pushStop()
		w.pushStop = w.pusher.Start(s.pushCtx)
	}
	w.state.Running, w.state.RunningSince, w.state.Progress = true, s.Engine.Clock.Now(), Progress{}
	s.mu.Unlock()

	run, err := s.runOnce(ctx, w, c, r)

	s.mu.Lock()
	switch cause := context.Cause(ctx); {
	case err != nil && w.ended != "":
		// Cut short by the worker's end (whatever else was cancelled
		// with it: a stopping daemon ends its requests too): say so,
		// rather than "context canceled".
		err = fmt.Errorf("%s, which stopped this run: %w", w.ended, err)
	case err != nil && cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(err, cause):
		// Cut short by a cause that names itself, come before the
		// worker's end: under a real systemd a stop early in a run
		// read "run failed: context canceled".
		err = fmt.Errorf("%w, which stopped this run: %w", cause, err)
	}
	w.pushStop = w.pusher.Restart(s.pushCtx, w.pushStop) // a resend may have replaced the batch that stopped it
	w.state.Running = false
	var held *HeldError
	var limited *RateLimitedError
	switch {
	case err == nil, errors.As(err, &held):
		// A held run delivered its upserts; running it again would only
		// hold the same deletes. It waits for an admin, not a retry.
		w.state.Failures, w.state.RetryAt = 0, time.Time{}
	case scheduled && ctx.Err() == nil:
		w.state.Failures++
		wait := min(retryBase<<min(w.state.Failures-1, 10), retryCap)
		if errors.Is(err, fault.ErrConfig) {
			wait = configRetry
		}
		wait = wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1)) // spread connectors that fail together
		w.state.RetryAt = s.Engine.Clock.Now().Add(wait)
		if errors.As(err, &limited) {
			// The provider said when its budget comes back: try then, not
			// earlier (another 429) nor at the next slot (a day lost); and
			// never sooner than the backoff, should that time have passed.
			until := limited.Until
			if most := s.Engine.Clock.Now().Add(MaxRateLimitDelay); until.After(most) {
				until = most
			}
			at := until.Add(time.Duration(rand.Int64N(int64(30 * time.Second))))
			w.state.RetryAt = later(at, w.state.RetryAt)
		}
		s.Engine.Log.Warn("connector failing; retrying later", "connector", c.Name, "failures", w.state.Failures,
			"retry_at", w.state.RetryAt.Format(time.RFC3339), "error", err)
	}
	w.state.NextRun = s.nextFor(w)
	s.mu.Unlock()
	// Finished comes after the state is updated, so whoever it tells can
	// read the retry time and the failure count of this very run.
	if s.Finished != nil && run.ID != "" {
		s.Finished(c, run)
	}
	if r.done != nil {
		r.done <- outcome{run, err}
	}
}

// runOnce builds the provider and runs the engine; a panic in either is
// the connector's failure, not the daemon's.
func (s *Scheduler) runOnce(ctx context.Context, w *worker, c connector.Config, r request) (run store.Run, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error in the run of %q: %v", c.Name, p)
			s.Engine.Log.Error("run panicked", "connector", c.Name, "panic", p)
		}
	}()
	prov, err := s.Provider(ctx, c)
	if err != nil {
		return run, err
	}
	return s.Engine.Run(ctx, c, prov, Options{Full: r.flags.Full, ConfirmDeletes: r.flags.ConfirmDeletes, Resend: r.flags.Resend, Committed: w.pusher.Kick, Progress: func(p Progress) {
		s.mu.Lock()
		w.state.Progress = p
		s.mu.Unlock()
		if r.progress != nil {
			r.progress(p)
		}
	}})
}

// shutdown ends the workers (cancelling their runs), lets the pushers
// deliver for up to Drain, and stops them.
func (s *Scheduler) shutdown(stopPushers context.CancelFunc) {
	s.mu.Lock()
	workers := make([]*worker, 0, len(s.workers))
	for _, w := range s.workers {
		w.ended = "the neurons-connector service is stopping"
		w.cancel()
		workers = append(workers, w)
	}
	s.mu.Unlock()
	s.group.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), s.Drain)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.pusher.Drain(ctx, s.Drain)
		}()
	}
	wg.Wait()
	stopPushers()
	for _, w := range workers {
		_ = w.pushStop()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
