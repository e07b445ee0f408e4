package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/store"
)

// A batch Neurons rejects (400) for a value it refuses stops delivery, as
// the contract says: never sent unchanged forever. Once the admin has put
// the value right at the source (or in the mapping), the batch in the
// outbox still holds the old value, and every later batch waits behind it:
// a dead end short of removing the connector. A resend (run --resend)
// replaces what waits behind the rejection: its upserts are superseded by
// the resend's, its deletes go again with it, and delivery goes on.
func TestAResendReplacesTheBatchesBehindARejection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE", "SUSPENDED")
	e.mustRun(engine.Options{})
	active := e.sim.IDs("ACTIVE")
	bad, good, gone := active[0], active[1], active[2]
	e.fake.RejectValue("User.JobTitle", "N/A")
	for id, title := range map[string]string{bad: "N/A", good: "Engineer"} {
		if err := e.sim.EditProfile(id, map[string]any{"title": title}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sim.Deactivate(gone); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	_, err := e.run(engine.Options{})
	if !errors.Is(err, fault.ErrRejected) || !strings.Contains(err.Error(), "sourceId "+bad) {
		t.Fatalf("the refused value: %v", err)
	}
	var rej store.Rejection
	var ok bool
	_ = e.db.View(func(tx *store.Tx) error { rej, ok = tx.Rejection(e.conn.ID); return nil })
	if !ok || !strings.Contains(rej.Error, "attributes.User.JobTitle") {
		t.Fatalf("the rejection is not recorded: %+v, %v", rej, ok)
	}

	// Put right at the source: the next run's change waits behind the
	// rejected batch, which is refused again.
	if err := e.sim.EditProfile(bad, map[string]any{"title": "Analyst"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.run(engine.Options{}); !errors.Is(err, fault.ErrRejected) {
		t.Fatalf("a run behind the rejection: %v", err)
	}

	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{Resend: true})
	if !r.Resend || r.Deleted != 1 {
		t.Errorf("the resend: %+v", r)
	}
	users := e.fake.Users(e.conn.ID)
	if users[bad].Attributes["User.JobTitle"] != "Analyst" || users[good].Attributes["User.JobTitle"] != "Engineer" {
		t.Errorf("titles after the resend: %v, %v", users[bad].Attributes["User.JobTitle"], users[good].Attributes["User.JobTitle"])
	}
	if n := e.fake.DeleteCounts(e.conn.ID)[gone]; n != 1 || e.fake.DeletedReason(e.conn.ID, gone) != "status-not-selected" {
		t.Errorf("the delete the rejected batch held: applied %d times, reason %q", n, e.fake.DeletedReason(e.conn.ID, gone))
	}
	e.assertSinkIsTruth()
	assertPastTheRejection(t, e)
}

// A sink that refuses a delete (of a record it never took, for a reason it
// does not know): a resend carried the refused batch's deletes, unchanged,
// into its own first batch, which was refused again, resend after resend,
// against the contract's "never retry it unchanged forever". A refused
// batch of deletes alone is the deletes' fault: the resend drops them and
// names their users, so the admin can look at them in Neurons.
func TestARefusedDeleteIsNotSentForever(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200, "ACTIVE")
	e.mustRun(engine.Options{})
	gone := e.sim.IDs("ACTIVE")[3]
	e.fake.RejectDelete(gone)
	if err := e.sim.Deactivate(gone); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.run(engine.Options{}); !errors.Is(err, fault.ErrRejected) || !strings.Contains(err.Error(), "sourceId "+gone) {
		t.Fatalf("the refused delete: %v", err)
	}
	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{Resend: true})
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "dropped 1 delete the sink refused ("+gone+")") {
		t.Errorf("the resend's warnings: %q", r.Warnings)
	}
	if n := e.fake.DeleteCounts(e.conn.ID)[gone]; n != 0 {
		t.Errorf("the refused delete was applied %d times", n)
	}
	assertPastTheRejection(t, e)
}

// assertPastTheRejection checks that a resend got past a refused batch:
// no rejection recorded, nothing waiting, and a run after it with nothing
// to send.
func assertPastTheRejection(t *testing.T, e *env) {
	t.Helper()
	_ = e.db.View(func(tx *store.Tx) error {
		if _, ok := tx.Rejection(e.conn.ID); ok || tx.OutboxDepth(e.conn.ID) != 0 {
			t.Errorf("after the resend: rejection kept %v, %d batches waiting", ok, tx.OutboxDepth(e.conn.ID))
		}
		return nil
	})
	e.clock.Advance(time.Minute)
	if next := e.mustRun(engine.Options{}); next.Upserted != 0 || next.Deleted != 0 {
		t.Errorf("the run after: %+v", next)
	}
}
