package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"neurons-connector/api"
	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// Explain reads one user from the connector's provider now and says how
// the table in force maps it, row by row, whether a run would deliver or
// delete it, whether it differs from what was last queued, and what of it
// waits in the outbox. It writes nothing.
func (b *Backend) Explain(ctx context.Context, req api.ExplainRequest) (api.Explanation, error) {
	if strings.TrimSpace(req.User) == "" {
		return api.Explanation{}, api.BadInput("give the user: its ID, login or e-mail")
	}
	db, c, sec, err := b.openConnector(req.Name, true)
	if err != nil {
		return api.Explanation{}, err
	}
	defer func() { _ = db.Close() }()
	src, err := b.mappingSource()
	if err != nil {
		return api.Explanation{}, err
	}
	table, err := src.Load(c.Kind, c.Name)
	if err != nil {
		return api.Explanation{}, fmt.Errorf("the table in force: %w", err)
	}
	prov, err := b.openProvider(c, sec)
	if err != nil {
		return api.Explanation{}, err
	}
	reader, ok := prov.(engine.UserReader)
	if !ok {
		return api.Explanation{}, fmt.Errorf("connector %q: its provider cannot read one user", c.Name)
	}
	u, found, err := reader.ReadUser(ctx, strings.TrimSpace(req.User), table.Fields())
	if err != nil {
		return api.Explanation{}, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	if !found {
		return api.Explanation{}, api.BadInput("connector %q: no user %q at the provider; give the user's ID, login or e-mail", c.Name, req.User)
	}
	out := api.Explanation{Connector: c.Name, SourceID: u.ID, Status: u.Status, Table: table.File, Outbox: []api.Queued{}}
	if out.Record, err = json.Marshal(u.Raw); err != nil {
		return api.Explanation{}, err
	}
	for _, s := range c.Statuses {
		out.Selected = out.Selected || s == u.Status
	}
	err = db.View(func(tx *store.Tx) error {
		dir := &liveDirectory{snap: snapshotDirectory{tx: tx, connID: c.ID}, ctx: ctx, prov: prov, table: table}
		for _, s := range table.Explain(u.Raw, dir) {
			out.Targets = append(out.Targets, explained(table.File, s))
		}
		snap, known, err := tx.Snapshot(c.ID, u.ID)
		if err != nil {
			return err
		}
		hashKey, err := tx.RecordHashKey()
		if err != nil {
			return err
		}
		switch {
		case !known || !snap.Delivered():
			out.Delivered = "never"
		case engine.Unchanged(hashKey, table.Apply(u.Raw, dir), snap.Hash):
			out.Delivered = "unchanged"
		default:
			out.Delivered = "changed"
		}
		if !out.Selected && known && snap.Delivered() {
			out.Delete = sink.ReasonStatusNotSelected
		}
		if out.Outbox, err = queuedFor(tx, c.ID, u.ID); err != nil {
			return err
		}
		if known && snap.Queued > 0 {
			out.LastQueued = &api.QueuedBy{At: time.Unix(snap.Queued, 0).UTC()}
			runs, err := tx.Runs(c.ID, 1000) // newest first, the whole history
			if err != nil {
				return err
			}
			for _, r := range runs {
				if r.Start.Unix() == snap.Queued {
					out.LastQueued.Run = r.ID
					break
				}
			}
		}
		return nil
	})
	return out, err
}

// liveDirectory finds managers as a run does: in what the snapshot keeps,
// else (a manager outside the selected statuses) by reading them from the
// provider, when it can read one user by ID.
type liveDirectory struct {
	snap  snapshotDirectory
	ctx   context.Context //nolint:containedctx // one explain's lookups, within its call
	prov  engine.Provider
	table *mapping.Table
}

func (d *liveDirectory) Contact(id string) (mapping.Contact, bool) {
	if c, ok := d.snap.Contact(id); ok {
		return c, true
	}
	finder, ok := d.prov.(engine.UserFinder)
	if !ok {
		return mapping.Contact{}, false
	}
	u, found, err := finder.FindUser(d.ctx, id)
	if err != nil || !found {
		return mapping.Contact{}, false
	}
	return mapping.ContactOf(d.table.Apply(u.Raw, nil)), true
}

// explained is a mapping step as the API shows it.
func explained(file string, s mapping.Step) api.Explained {
	e := api.Explained{Target: s.Target, Row: fmt.Sprintf("%s:%d", file, s.Line), Source: s.Source, Transform: s.Transform, Why: s.Why}
	if s.Field != nil {
		var v any = s.Field.Str
		if s.Field.IsList() {
			v = s.Field.List
		}
		e.Value, _ = json.Marshal(v)
	}
	return e
}

// queuedFor finds the changes for one user in the connector's outbox.
func queuedFor(tx *store.Tx, connID, sourceID string) ([]api.Queued, error) {
	out := []api.Queued{}
	err := tx.ForEachOutbox(connID, func(e store.OutboxEntry) error {
		body, err := sink.Payload(e.Batch).AppendJSON(nil)
		if err != nil {
			return fmt.Errorf("outbox batch %d: %w", e.Seq, err)
		}
		var batch struct {
			Upserts []struct {
				SourceID string `json:"sourceId"`
			} `json:"upserts"`
			Deletes []struct {
				SourceID string `json:"sourceId"`
				Reason   string `json:"reason"`
			} `json:"deletes"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			return fmt.Errorf("outbox batch %d: %w", e.Seq, err)
		}
		for _, u := range batch.Upserts {
			if u.SourceID == sourceID {
				out = append(out, api.Queued{Batch: e.Seq, Change: "upsert"})
			}
		}
		for _, d := range batch.Deletes {
			if d.SourceID == sourceID {
				out = append(out, api.Queued{Batch: e.Seq, Change: "delete", Reason: d.Reason})
			}
		}
		return nil
	})
	return out, err
}
