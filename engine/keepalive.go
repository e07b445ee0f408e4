package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"neurons-connector/connector"
	"neurons-connector/fault"
)

// keepAliveRetry is how long after a failed keep-alive call the next one
// may go: the credential has days left when a call is first due. A
// credential the provider refuses (revoked already, or wrong) is tried
// once a day, which keeps the log from repeating it every hour for a
// connector nobody runs.
const (
	keepAliveRetry        = time.Hour
	keepAliveRetryRefused = 24 * time.Hour
)

// keepAliveDue reports whether worker w's credential needs a call to stay
// valid: its provider revokes it after IdleLimit unused, and a third of
// that has passed since its last use with no run or call under way. Any
// connector this daemon schedules counts, inactive ones too (an admin who
// pauses a connector for a quarter expects it to work when resumed). s.mu
// is held.
func (s *Scheduler) keepAliveDue(w *worker, now time.Time) bool {
	if s.IdleLimit == nil || w.c.Server != s.Server || w.state.KeepingAlive || w.state.Running || w.state.Queued || now.Before(w.keepRetry) {
		return false
	}
	limit := s.IdleLimit(w.c)
	return limit > 0 && now.Sub(w.state.CredentialUsed) >= limit/3
}

// keepAlive makes one cheap call with the connector's credential (the
// provider's Identity: Okta's GET /api/v1/org), in the worker's goroutine.
func (s *Scheduler) keepAlive(ctx context.Context, w *worker) {
	s.mu.Lock()
	c := w.c
	s.mu.Unlock()
	err := s.touch(ctx, c)
	now := s.Engine.Clock.Now()
	s.mu.Lock()
	w.state.KeepingAlive = false
	retry := keepAliveRetry
	if errors.Is(err, fault.ErrConfig) {
		retry = keepAliveRetryRefused
	}
	if err == nil {
		w.state.CredentialUsed = now
	} else {
		w.keepRetry = now.Add(retry)
	}
	limit := s.IdleLimit(c)
	s.mu.Unlock()
	switch {
	case ctx.Err() != nil:
	case err != nil:
		s.Engine.Log.Warn("the call that keeps the connector's credential from lapsing failed; trying again later",
			"connector", c.Name, "lapses_after", days(limit), "retry_in", retry.String(), "error", err)
	default:
		s.Engine.Log.Info("called the provider so that the connector's credential does not lapse between its runs",
			"connector", c.Name, "lapses_after", days(limit))
	}
}

// touch opens the connector's provider and calls it once; a provider that
// has no Identity call has nothing to keep alive.
func (s *Scheduler) touch(ctx context.Context, c connector.Config) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error in the keep-alive call of %q: %v", c.Name, p)
		}
	}()
	prov, err := s.Provider(ctx, c)
	if err != nil {
		return err
	}
	id, ok := prov.(Identifier)
	if !ok {
		return nil
	}
	_, err = id.Identity(ctx)
	return err
}

// days says d in whole days ("30 days").
func days(d time.Duration) string { return fmt.Sprintf("%.0f days", d.Hours()/24) }
