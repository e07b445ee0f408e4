package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"neurons-connector/api"
	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/store"
)

// Preview bounds.
const (
	DefaultPreviewUsers = 20
	MaxPreviewUsers     = 200
)

// Preview applies an edited mapping table to a few users of a connector,
// read live from its provider, beside the table in force, and reports the
// targets that would change. It writes nothing: a manager's fields come
// from what the connector's snapshot knows, as in a run.
func (b *Backend) Preview(ctx context.Context, req api.PreviewRequest) (api.Preview, error) {
	if req.Users == 0 {
		req.Users = DefaultPreviewUsers
	}
	if req.Users < 1 || req.Users > MaxPreviewUsers {
		return api.Preview{}, api.BadInput("--users must be from 1 to %d (got %d)", MaxPreviewUsers, req.Users)
	}
	db, c, sec, err := b.openConnector(req.Name, true)
	if err != nil {
		return api.Preview{}, err
	}
	defer func() { _ = db.Close() }()
	sp, err := b.spec(c)
	if err != nil {
		return api.Preview{}, err
	}
	src, err := b.mappingSource()
	if err != nil {
		return api.Preview{}, err
	}
	edited, err := mapping.Parse(src.Catalog, sp, req.File, req.CSV)
	var ps mapping.Problems
	if errors.As(err, &ps) {
		return api.Preview{}, api.BadInput("%s has %d %s (see: neurons-connector mapping check %s):\n%s", req.File, ps.Count(),
			map[bool]string{true: "problem", false: "problems"}[ps.Count() == 1], req.File, ps.Error())
	}
	if err != nil {
		return api.Preview{}, api.MarkBadInput(err)
	}
	inForce, err := src.Load(c.Kind, c.Name)
	if err != nil {
		return api.Preview{}, fmt.Errorf("the table in force: %w", err)
	}
	prov, err := b.openProvider(c, sec)
	if err != nil {
		return api.Preview{}, err
	}
	sampler, ok := prov.(engine.Sampler)
	if !ok {
		return api.Preview{}, fmt.Errorf("connector %q: its provider cannot read users for a preview", c.Name)
	}
	// What either table reads, so that the users carry every field both map.
	fields := slices.Concat(inForce.Fields(), edited.Fields())
	slices.Sort(fields)
	fields = slices.Compact(fields)
	users, err := sampler.Sample(ctx, engine.SampleRequest{Statuses: c.Statuses, N: req.Users, Fields: fields})
	if err != nil {
		return api.Preview{}, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	out := api.Preview{Connector: c.Name, File: req.File, InForce: inForce.File, Read: len(users), Statuses: c.Statuses,
		Changed: []api.PreviewUser{}}
	err = db.View(func(tx *store.Tx) error {
		dir := snapshotDirectory{tx: tx, connID: c.ID}
		for _, u := range users {
			before, after := inForce.Apply(u.Raw, dir), edited.Apply(u.Raw, dir)
			if changes := diffRecords(before, after); len(changes) > 0 {
				out.Changed = append(out.Changed, api.PreviewUser{SourceID: u.ID, Label: labelOf(before), Status: u.Status, Changes: changes})
			}
		}
		return nil
	})
	return out, err
}

// snapshotDirectory finds managers in what the connector's snapshot keeps.
type snapshotDirectory struct {
	tx     *store.Tx
	connID string
}

func (d snapshotDirectory) Contact(id string) (mapping.Contact, bool) {
	s, ok, err := d.tx.Snapshot(d.connID, id)
	if err != nil || !ok {
		return mapping.Contact{}, false
	}
	return mapping.Contact{Name: s.Name, Email: s.Email, Phone: s.Phone}, true
}

// diffRecords lists the targets whose values differ, by name.
func diffRecords(before, after mapping.Record) []api.TargetChange {
	names := map[string]bool{}
	for _, f := range before {
		names[f.Name] = true
	}
	for _, f := range after {
		names[f.Name] = true
	}
	var out []api.TargetChange
	for _, n := range slices.Sorted(maps.Keys(names)) {
		b, a := fieldJSON(before, n), fieldJSON(after, n)
		if !bytes.Equal(b, a) {
			out = append(out, api.TargetChange{Target: n, Before: b, After: a})
		}
	}
	return out
}

// fieldJSON is a field's value as JSON, null when the record lacks it.
func fieldJSON(r mapping.Record, name string) json.RawMessage {
	f, ok := r.Get(name)
	if !ok {
		return json.RawMessage("null")
	}
	var v any = f.Str
	if f.IsList() {
		v = f.List
	}
	b, _ := json.Marshal(v)
	return b
}

// labelOf names a user for people: its login, else its e-mail.
func labelOf(r mapping.Record) string {
	for _, n := range []string{"User.LoginID", "User.Email"} {
		if f, ok := r.Get(n); ok && f.Str != "" {
			return f.Str
		}
	}
	return ""
}
