package engine_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/sink"
)

// stopAfterPages runs the engine until its second page, then cancels it:
// the pages read are committed and their batches delivered, but the run
// never queues its final batch, as when the process is killed mid-run.
func (e *env) stopAfterPages(o engine.Options) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := engine.NewPusher(e.db, e.sink, e.conn.ID, e.clock, e.log)
	stop := p.Start(context.Background())
	pages := 0
	o.Committed = p.Kick
	o.Progress = func(engine.Progress) {
		if pages++; pages == 2 {
			cancel()
		}
	}
	r, err := e.eng.Run(ctx, e.conn, e.prov, o)
	if !errors.Is(err, context.Canceled) {
		e.t.Fatalf("the run was not cancelled: %v, %s", err, r.Result)
	}
	if err := p.Drain(context.Background(), time.Minute); err != nil {
		e.t.Fatal(err)
	}
	_ = stop()
}

// withSelectedManagers lists the first n selected users whose manager, if
// they have one, is selected too: a pass queues them as it lists them,
// where a report of a manager outside the selection waits for the pass's
// end (spill), which a stopped run never reaches.
func (e *env) withSelectedManagers(n int) []string {
	e.t.Helper()
	selected := map[string]bool{}
	for _, id := range e.truth() {
		selected[id] = true
	}
	var out []string
	for _, id := range e.sim.IDs(e.conn.Statuses...) {
		if _, p, _ := e.sim.User(id); p["managerId"] == nil || selected[fmt.Sprint(p["managerId"])] {
			if out = append(out, id); len(out) == n {
				return out
			}
		}
	}
	e.t.Fatalf("fewer than %d users with selected managers", n)
	return nil
}

// A run stopped after it delivered some batches, followed by a run that
// finds nothing left to change (the stopped run's pages are committed):
// that run still ends with a final batch, which closes the stopped run's.
// The CSV drop publishes at a final batch, so without it the edits made
// before the stopped run sat in its journal and the drop kept the old
// titles, until some later run happened to change something.
func TestARunLeftOpenIsClosedByTheNext(t *testing.T) {
	t.Parallel()
	for _, full := range []bool{true, false} {
		e := newEnv(t, 400, "ACTIVE")
		e.mustRun(engine.Options{})
		e.clock.Advance(time.Hour)
		for _, id := range e.withSelectedManagers(10) {
			_ = e.sim.EditProfile(id, map[string]any{"title": "Edited"})
		}
		before := len(e.fake.Accepted())
		e.stopAfterPages(engine.Options{Full: full})
		acc := e.fake.Accepted()[before:]
		if len(acc) == 0 || acc[len(acc)-1].Final {
			t.Fatalf("full %v: the stopped run delivered %+v, want batches and no final one", full, acc)
		}
		e.clock.Advance(time.Minute)
		r := e.mustRun(engine.Options{})
		acc = e.fake.Accepted()[before+len(acc):]
		if r.Upserted != 0 || len(acc) != 1 || !acc[0].Final || acc[0].Upserts+acc[0].Deletes != 0 {
			t.Fatalf("full %v: the run after the stopped one upserted %d and delivered %+v, want one empty final batch", full, r.Upserted, acc)
		}
		// Closed: the run after it sends nothing.
		e.clock.Advance(time.Minute)
		n := len(e.fake.Accepted())
		e.mustRun(engine.Options{})
		if got := e.fake.Accepted()[n:]; len(got) != 0 {
			t.Fatalf("full %v: a run after the closing one delivered %+v", full, got)
		}
	}
}

// The same into the CSV drop, which is what an admin sees: after the
// stopped run and a complete one, the drop holds the edits.
func TestCSVDropPublishesWhatAStoppedRunDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400, "ACTIVE")
	e.sink = &sink.CSV{Dir: filepath.Join(e.dir, "csv"), State: filepath.Join(e.dir, "csvstate"), DB: e.db}
	e.eng.LocalSink = true
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	edited := e.sim.IDs("ACTIVE")[:10]
	for _, id := range edited {
		_ = e.sim.EditProfile(id, map[string]any{"title": "Edited"})
	}
	e.stopAfterPages(engine.Options{Full: true})
	e.clock.Advance(time.Minute)
	e.mustRun(engine.Options{})
	f, err := os.Open(filepath.Join(e.dir, "csv", e.conn.Name+"-users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "User.JobTitle")
	titles := map[string]string{}
	for _, r := range rows[1:] {
		titles[r[0]] = r[col]
	}
	if len(titles) != len(e.truth()) {
		t.Fatalf("the drop holds %d users, the source %d", len(titles), len(e.truth()))
	}
	for _, id := range edited {
		if titles[id] != "Edited" {
			t.Fatalf("user %s: title %q in the drop, want %q", id, titles[id], "Edited")
		}
	}
}
