package engine_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/sink"
)

// purge deletes a user from the simulated org for good: Okta's first
// DELETE of an active user deactivates it, the second deletes it.
func (e *env) purge(id string) {
	e.t.Helper()
	for range 2 {
		if err := e.sim.Delete(id); err != nil {
			e.t.Fatal(err)
		}
	}
}

// A full run asks Okta about each delivered user its listing no longer
// returned (GET /api/v1/users/{id}) before deleting them: the listing that
// ends a page early (no next link, no error: "an org that answers half a
// list", here under --max-deletes) deletes no one who exists; a user
// deleted in Okta goes as deleted-at-source, and one deactivated since the
// last run, whom a listing of the selected statuses leaves out too, as
// status-not-selected. Before, the 20-odd users of the missing page were
// deleted from Neurons, and the deactivated user went as deleted-at-source.
func TestAbsentUsersAreConfirmedBeforeTheyAreDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1500, "ACTIVE")
	e.mustRun(engine.Options{})
	active := e.sim.IDs("ACTIVE")
	deleted, deactivated := active[5:7], active[9]
	for _, id := range deleted {
		e.purge(id)
	}
	if err := e.sim.Deactivate(deactivated); err != nil {
		t.Fatal(err)
	}
	pages := (len(e.sim.IDs("ACTIVE")) + pageSize - 1) / pageSize
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Skip: pages - 2, NoNext: true}) // the last page is never asked for
	e.clock.Advance(time.Hour)
	r := e.mustRun(engine.Options{Full: true})
	if r.Result != "ok" || r.Deleted != 3 {
		t.Fatalf("run %s: %d deleted, want the 3 gone or deactivated (warnings %q)", r.Result, r.Deleted, r.Warnings)
	}
	for _, id := range deleted {
		if got := e.fake.DeleteReason(e.conn.ID, id); got != sink.ReasonDeletedAtSource {
			t.Errorf("deleted user %s went as %q", id, got)
		}
	}
	if got := e.fake.DeleteReason(e.conn.ID, deactivated); got != sink.ReasonStatusNotSelected {
		t.Errorf("deactivated user went as %q", got)
	}
	left := len(e.sim.IDs("ACTIVE")) - r.Fetched
	if left == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "left out "+strconv.Itoa(left)+" users that still exist") {
		t.Errorf("%d users left out of the listing; warnings %q", left, r.Warnings)
	}
	byID := 0
	for _, q := range e.sim.Requests() {
		if strings.HasPrefix(q.URL, "/api/v1/users/00u") {
			byID++
		}
	}
	if byID != left+3 {
		t.Errorf("%d users asked for by ID, want the %d absent ones", byID, left+3)
	}
	e.assertSinkIsTruth()
}

// Past engine.ConfirmLimit absent users, a sample of that many stands for
// them: all gone, every absent user is deleted as deleted-at-source (here
// 150, the limit off).
func TestManyAbsentUsersAllGoneAreDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400, "ACTIVE")
	e.conn.MaxDeletes, _ = connector.ParseDeleteLimit("none")
	e.save()
	e.mustRun(engine.Options{})
	gone := e.sim.IDs("ACTIVE")[:150]
	for _, id := range gone {
		e.purge(id)
	}
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{Full: true}); r.Deleted != 150 {
		t.Fatalf("%d deleted, want 150", r.Deleted)
	}
	for _, id := range gone {
		if got := e.fake.DeleteReason(e.conn.ID, id); got != sink.ReasonDeletedAtSource {
			t.Fatalf("user %s went as %q", id, got)
		}
	}
	e.assertSinkIsTruth()
}

// Asking fails (Okta answers 500 to every read by ID): the upserts and the
// cursor go, the deletes are held, and the next full run that can ask
// lets them through.
func TestAbsentUsersThatCannotBeConfirmedAreHeld(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400, "ACTIVE")
	e.mustRun(engine.Options{})
	gone := e.sim.IDs("ACTIVE")[:3]
	for _, id := range gone {
		e.purge(id)
	}
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users/", Status: 500, Times: 1000})
	e.clock.Advance(time.Hour)
	e.runHeld(engine.Options{Full: true}, 3, "could not be asked whether the 3 users its listing no longer returned are gone")
	e.sim.ClearFaults()
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{Full: true}); r.Deleted != 3 || len(e.heldIDs()) != 0 {
		t.Fatalf("once Okta answers: %d deleted, %d held", r.Deleted, len(e.heldIDs()))
	}
	e.assertSinkIsTruth()
}
