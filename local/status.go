package local

import (
	"context"
	"fmt"
	"time"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/store"
)

// Status returns the status of the named connector, or of all with name
// empty. It never writes.
func (b *Backend) Status(_ context.Context, name string) ([]api.Status, error) {
	views := []api.Status{}
	err := b.view(func(tx *store.Tx) error {
		var all []connector.Config
		var err error
		switch {
		case name != "":
			var c connector.Config
			c, err = findConnector(tx, name)
			all = []connector.Config{c}
		case tx != nil:
			all, err = tx.Connectors()
		}
		if err != nil {
			return err
		}
		for _, c := range all {
			v, err := b.status(tx, c)
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		return nil
	})
	return views, err
}

func (b *Backend) status(tx *store.Tx, c connector.Config) (api.Status, error) {
	v := api.Status{
		Connector:    b.describe(tx, c),
		OnThisServer: c.Server == b.cfg.Server,
		Outbox:       tx.OutboxDepth(c.ID),
		KnownUsers:   tx.SnapshotSize(c.ID),
	}
	state, err := tx.SyncState(c.ID)
	if err != nil {
		return v, err
	}
	v.Sink = state.Sink
	if engine.SinkMoved(state, b.cfg.SinkName, v.KnownUsers) {
		v.NextSink = b.cfg.SinkName
	}
	v.Resend = engine.PendingResend(state)
	if sf, ok := tx.Shortfall(c.ID); ok {
		v.NotAccepted = &api.NotAccepted{Records: sf.Records, Batches: sf.Batches, LastBatch: sf.LastBatch, Last: sf.Last,
			Fix: NotAcceptedFix(c.Name)}
	}
	if r, ok := tx.Rejection(c.ID); ok {
		v.Refused = &api.Refused{Batch: r.Key, Records: r.Records, Error: r.Error, Since: r.At, Fix: RefusedFix(c.Name)}
	}
	if h := state.Hold; h != nil {
		v.HeldDeletes = h.Count
		v.Hold = &api.Hold{Why: h.Why, Since: h.Since, Run: h.Run,
			Confirm: fmt.Sprintf("neurons-connector run %q --confirm-deletes", c.Name)}
	}
	runs, err := tx.Runs(c.ID, 1)
	if err != nil {
		return v, err
	}
	if len(runs) == 1 {
		r := runView(runs[0])
		v.LastRun = &r
	}
	cur, ok, err := tx.Cursor(c.ID)
	if err != nil {
		return v, err
	}
	now := b.cfg.Clock.Now()
	if ok && !cur.Saved.IsZero() {
		saved := cur.Saved
		v.CursorSaved = &saved
		v.CursorAge = now.Sub(saved).Round(time.Second).String()
	}
	if b.cfg.Scheduler != nil {
		if st, ok := b.cfg.Scheduler.State(c.ID); ok {
			v.Daemon = &st
			if !st.NextRun.IsZero() {
				next := st.NextRun
				v.NextRun = &next
			}
		}
	} else if c.Active && v.OnThisServer {
		next := c.Schedule.Next(now, b.cfg.Local)
		v.NextRun = &next
	}
	return v, nil
}

// RefusedFix is the way past a batch the sink refused, for connector name.
func RefusedFix(name string) string {
	return fmt.Sprintf("put the refused value right at the source or in the mapping table, then: neurons-connector run %q --resend "+
		"(it replaces the refused batch and those behind it); if the sink's side was fixed instead, the next run sends the batch again", name)
}

// NotAcceptedFix is what to do when the sink acknowledged fewer records
// than it was sent, for connector name.
func NotAcceptedFix(name string) string {
	return fmt.Sprintf("some users may be missing in Neurons; neurons-connector run %q --resend sends every selected user again", name)
}
