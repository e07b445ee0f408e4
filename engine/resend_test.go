package engine_test

import (
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/store"
)

// A resend (run --resend) upserts every selected user once more, changed
// or not, in batches of its own with new idempotency keys, and nothing
// else: no deletes, no unselected user. A dry resend changes nothing, and
// the run after a resend is an ordinary one.
func TestResendDeliversEverySelectedUserOnceMore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE", "SUSPENDED")
	e.mustRun(engine.Options{})
	keys := map[string]bool{}
	for _, a := range e.fake.Accepted() {
		keys[a.Key] = true
	}
	e.clock.Advance(time.Minute)
	if r := e.mustRun(engine.Options{Resend: true, DryRun: true}); r.Upserted != len(e.truth()) || r.Mode != "full" {
		t.Errorf("dry resend: %+v", r)
	}
	if r := e.mustRun(engine.Options{}); r.Mode != "incremental" || r.Upserted != 0 || r.Resend {
		t.Fatalf("a dry resend changed the state: the next run is %+v", r)
	}
	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{Resend: true})
	if r.Mode != "full" || !r.Resend || r.ModeReason != "resend of every selected user" || r.Upserted != len(e.truth()) || r.Deleted != 0 {
		t.Errorf("resend: %+v (want %d upserts)", r, len(e.truth()))
	}
	e.assertSinkIsTruth()
	for id, rec := range e.fake.Users(e.conn.ID) {
		if rec.Upserts != 2 {
			t.Fatalf("user %s applied %d times; a resend applies each once more", id, rec.Upserts)
		}
	}
	for _, a := range e.fake.Accepted() {
		if a.RunID == r.ID && keys[a.Key] {
			t.Errorf("the resend's batch %d reused the idempotency key %s", a.Sequence, a.Key)
		}
	}
	e.clock.Advance(time.Minute)
	if next := e.mustRun(engine.Options{}); next.Mode != "incremental" || next.Upserted != 0 || next.Resend {
		t.Errorf("the run after a resend: %+v", next)
	}
}

// A resend that stops halfway (here the provider refuses a page) is taken
// up by the next run, which resends every selected user too, so that no
// user is left out of what the admin asked for; then runs are ordinary.
func TestUnfinishedResendIsTakenUpByTheNextRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE", "SUSPENDED")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Minute)
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Skip: 2, Status: 400})
	failed, err := e.run(engine.Options{Resend: true})
	if err == nil || failed.Result != "failed" || !failed.Resend {
		t.Fatalf("the interrupted resend: %+v, %v", failed, err)
	}
	var st store.SyncState
	_ = e.db.View(func(tx *store.Tx) (err error) { st, err = tx.SyncState(e.conn.ID); return err })
	if st.Resend != failed.ID {
		t.Fatalf("sync state after the failed resend: resend %q, want %q", st.Resend, failed.ID)
	}
	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{})
	if r.Mode != "full" || !r.Resend || !strings.Contains(r.ModeReason, "resend begun by run "+failed.ID) || r.Upserted != len(e.truth()) {
		t.Errorf("the run after it: %+v", r)
	}
	e.assertSinkIsTruth()
	for id, rec := range e.fake.Users(e.conn.ID) {
		if rec.Upserts < 2 {
			t.Fatalf("user %s applied %d times: left out of the resend", id, rec.Upserts)
		}
	}
	e.clock.Advance(time.Minute)
	if next := e.mustRun(engine.Options{}); next.Mode != "incremental" || next.Resend || next.Upserted != 0 {
		t.Errorf("the run after the completed resend: %+v", next)
	}
}

// A connector whose snapshot was built for one sink resends every selected
// user when it runs towards another (Engine.Sink), the reason in the run's
// record. A dry run shows the resend and changes nothing; a resend that
// stops halfway is taken up by the next run; a state from before sinks
// were recorded is taken as the current sink's.
func TestAnotherSinkGetsEverySelectedUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE", "SUSPENDED")
	sinkOf := func() string {
		var st store.SyncState
		_ = e.db.View(func(tx *store.Tx) (err error) { st, err = tx.SyncState(e.conn.ID); return err })
		return st.Sink
	}
	// Before: no sink named, none recorded; then the first one named is
	// taken as the snapshot's without a resend.
	e.mustRun(engine.Options{})
	if s := sinkOf(); s != "" {
		t.Fatalf("a run without a sink name recorded %q", s)
	}
	e.eng.Sink = "Neurons at https://a.example"
	e.clock.Advance(time.Minute)
	if r := e.mustRun(engine.Options{}); r.Resend || r.Upserted != 0 {
		t.Fatalf("the first run that names its sink: %+v", r)
	}
	if s := sinkOf(); s != "Neurons at https://a.example" {
		t.Fatalf("recorded sink %q", s)
	}

	e.eng.Sink = "Neurons at https://b.example"
	e.clock.Advance(time.Minute)
	if r := e.mustRun(engine.Options{DryRun: true}); !r.Resend || r.Upserted != len(e.truth()) {
		t.Errorf("dry run towards another sink: %+v", r)
	}
	if s := sinkOf(); s != "Neurons at https://a.example" {
		t.Fatalf("the dry run recorded sink %q", s)
	}
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Skip: 1, Status: 400})
	failed, err := e.run(engine.Options{})
	want := "resend of every selected user: the sink changed from Neurons at https://a.example to Neurons at https://b.example"
	if err == nil || !failed.Resend || failed.ModeReason != want {
		t.Fatalf("the interrupted run towards the new sink: %+v, %v", failed, err)
	}
	if s := sinkOf(); s != "Neurons at https://b.example" {
		t.Fatalf("after the interrupted resend the recorded sink is %q", s)
	}
	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{})
	if !r.Resend || !strings.Contains(r.ModeReason, "resend begun by run "+failed.ID) || r.Upserted != len(e.truth()) {
		t.Errorf("the run after it: %+v", r)
	}
	e.clock.Advance(time.Minute)
	if r := e.mustRun(engine.Options{}); r.Resend || r.Upserted != 0 || r.Mode != "incremental" {
		t.Errorf("the run after the resend: %+v", r)
	}
	e.assertSinkIsTruth()
}
