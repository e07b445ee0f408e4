package engine_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin"
	"neurons-connector/secret"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// runHeld runs once and expects the guard to hold the run's deletes.
func (e *env) runHeld(o engine.Options, wantCount int, why string) store.Run {
	e.t.Helper()
	r, err := e.run(o)
	var held *engine.HeldError
	if !errors.As(err, &held) {
		e.t.Fatalf("run: %v, want its deletes held\n%s", err, e.logs)
	}
	if held.Count != wantCount || !strings.Contains(held.Why, why) || r.Result != "held" || r.Held != wantCount || r.Deleted != 0 {
		e.t.Fatalf("held %d (%q), run %s held %d deleted %d; want %d held because %q", held.Count, held.Why, r.Result, r.Held, r.Deleted, wantCount, why)
	}
	if !strings.Contains(held.Hint, "--confirm-deletes") {
		e.t.Errorf("the way out is missing: %q", held.Hint)
	}
	return r
}

func (e *env) state() store.SyncState {
	e.t.Helper()
	var st store.SyncState
	if err := e.db.View(func(tx *store.Tx) (err error) { st, err = tx.SyncState(e.conn.ID); return err }); err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) heldIDs() map[string]string {
	out := map[string]string{}
	_ = e.db.View(func(tx *store.Tx) error {
		return tx.ForEachHeld(e.conn.ID, func(id, reason string) error { out[id] = reason; return nil })
	})
	return out
}

// deletesAccepted counts the deletes the sink accepted after batch from.
func (e *env) deletesAccepted(from int) int {
	n := 0
	for _, a := range e.fake.Accepted()[from:] {
		n += a.Deletes
	}
	return n
}

// A token that lost its admin role makes Okta answer 200 [] (okta-api.md
// §1.3): the full run that lists nobody must not empty Neurons, whatever
// --max-deletes says, and a full run after the role is back clears the hold.
func TestEmptyListingHoldsEveryDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE")
	e.conn.MaxDeletes, _ = connector.ParseDeleteLimit("none") // the empty listing is held even so
	e.save()
	e.mustRun(engine.Options{})
	delivered := len(e.truth())
	e.sim.SetNoAdmin(true)
	e.clock.Advance(time.Hour)
	before := len(e.fake.Accepted())
	e.runHeld(engine.Options{Full: true}, delivered, "listed no users")
	if e.deletesAccepted(before) != 0 {
		t.Fatal("a delete reached the sink")
	}
	e.assertSinkIsTruth()
	if st := e.state(); st.Hold == nil || st.Hold.Count != delivered || !st.Hold.Full {
		t.Fatalf("hold %+v", st.Hold)
	}
	if got := e.heldIDs(); len(got) != delivered || got[e.truth()[0]] != sink.ReasonDeletedAtSource {
		t.Fatalf("%d held, first %q", len(got), got[e.truth()[0]])
	}

	e.sim.SetNoAdmin(false)
	e.clock.Advance(time.Hour)
	r := e.mustRun(engine.Options{Full: true})
	if r.Deleted != 0 || r.Result != "ok" {
		t.Fatalf("run after the role came back: %+v", r)
	}
	if st := e.state(); st.Hold != nil || len(e.heldIDs()) != 0 {
		t.Fatalf("still held: %+v", st.Hold)
	}
	e.assertSinkIsTruth()
}

// A sudden 40 % status change: the incremental run delivers its upserts,
// holds the deletes; users who come back release theirs; a later run within
// the limit delivers its own deletes; --confirm-deletes delivers the rest,
// each once.
func TestMassStatusChangeIsHeldUntilConfirmed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 500, "ACTIVE")
	e.mustRun(engine.Options{})
	active := e.sim.IDs("ACTIVE")
	// Users nobody reports to, so that no report changes with them.
	gone := active[len(active)*6/10:]
	for _, id := range gone {
		if err := e.sim.SetStatus(id, "SUSPENDED"); err != nil {
			t.Fatal(err)
		}
	}
	edited := active[0]
	if err := e.sim.EditProfile(edited, map[string]any{"title": "Held, not stuck"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	before := len(e.fake.Accepted())
	r := e.runHeld(engine.Options{}, len(gone), "exceed --max-deletes 10%")
	if r.Mode != "incremental" || r.Upserted < 1 {
		t.Fatalf("run %+v", r)
	}
	if e.deletesAccepted(before) != 0 {
		t.Fatal("a held delete reached the sink")
	}
	if got := e.fake.Users(e.conn.ID)[edited].Attributes["User.JobTitle"]; got != "Held, not stuck" {
		t.Fatalf("the run's upsert was not delivered: %v", got)
	}
	if len(e.fake.Users(e.conn.ID)) != len(active) {
		t.Fatalf("the sink holds %d users, want all %d", len(e.fake.Users(e.conn.ID)), len(active))
	}
	if got := e.heldIDs(); len(got) != len(gone) || got[gone[0]] != sink.ReasonStatusNotSelected {
		t.Fatalf("%d held, reason %q", len(got), got[gone[0]])
	}

	// Ten come back: their held deletes are void. (The run reads the
	// others again in its overlap and holds them again.)
	back := gone[:10]
	for _, id := range back {
		if err := e.sim.SetStatus(id, "ACTIVE"); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Hour)
	e.runHeld(engine.Options{}, len(gone)-10, "exceed --max-deletes 10%")
	if got := e.heldIDs(); len(got) != len(gone)-10 || got[back[0]] != "" {
		t.Fatalf("%d held after ten came back", len(got))
	}
	if st := e.state(); st.Hold == nil || st.Hold.Count != len(gone)-10 {
		t.Fatalf("hold %+v", st.Hold)
	}

	// One more leaves: within the limit, delivered; the rest stay held.
	extra := active[1]
	if err := e.sim.SetStatus(extra, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	before = len(e.fake.Accepted())
	if r := e.mustRun(engine.Options{}); r.Deleted != 1 {
		t.Fatalf("run %+v", r)
	}
	if e.deletesAccepted(before) != 1 || e.fake.DeleteReason(e.conn.ID, extra) != sink.ReasonStatusNotSelected {
		t.Fatal("the run's own delete was not delivered")
	}
	if len(e.heldIDs()) != len(gone)-10 {
		t.Fatal("the held deletes changed")
	}

	// Confirmed: a full run delivers exactly the deletes still due.
	e.clock.Advance(time.Hour)
	before = len(e.fake.Accepted())
	r = e.mustRun(engine.Options{ConfirmDeletes: true})
	if r.Mode != "full" || !r.Confirmed || r.Deleted != len(gone)-10 {
		t.Fatalf("confirmed run %+v", r)
	}
	if e.deletesAccepted(before) != len(gone)-10 {
		t.Fatalf("%d deletes reached the sink", e.deletesAccepted(before))
	}
	for _, id := range back {
		if _, ok := e.fake.Users(e.conn.ID)[id]; !ok || e.fake.DeleteReason(e.conn.ID, id) != "" {
			t.Fatalf("user %s, who came back, was deleted", id)
		}
	}
	if st := e.state(); st.Hold != nil || len(e.heldIDs()) != 0 {
		t.Fatalf("still held after confirming: %+v", st.Hold)
	}
	e.assertSinkIsTruth()
	for id, n := range e.fake.DeleteCounts(e.conn.ID) {
		if n != 1 {
			t.Fatalf("user %s deleted %d times", id, n)
		}
	}
}

// A connector pointed at another org: even a delete within the limit is
// held, the run says which org it read, and only a confirmed run makes the
// new org the connector's.
func TestAnotherOrgHoldsDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200, "ACTIVE")
	e.mustRun(engine.Options{})
	first := e.sim.OrgID()
	if st := e.state(); st.Identity != "okta org "+first {
		t.Fatalf("identity %q", st.Identity)
	}
	victim := e.truth()[3]
	if err := e.sim.Delete(victim); err != nil {
		t.Fatal(err)
	}
	e.sim.SetOrgID("00oOtherTenant000001")
	e.clock.Advance(time.Hour)
	e.runHeld(engine.Options{Full: true}, 1, "answered as okta org 00oOtherTenant000001, but the connector's earlier runs read okta org "+first)
	if st := e.state(); st.Identity != "okta org "+first {
		t.Fatalf("identity moved to %q without a confirmation", st.Identity)
	}
	e.clock.Advance(time.Hour)
	e.runHeld(engine.Options{Full: true}, 1, "answered as okta org 00oOtherTenant000001")
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{ConfirmDeletes: true}); r.Deleted != 1 {
		t.Fatalf("confirmed run %+v", r)
	}
	if st := e.state(); st.Identity != "okta org 00oOtherTenant000001" || st.Hold != nil {
		t.Fatalf("after confirming: identity %q, hold %+v", st.Identity, st.Hold)
	}
	e.assertSinkIsTruth()
}

// An org that answers half a list (the listing ends early): the absent
// users asked about (engine.ConfirmLimit of them) still exist and are
// kept, and the others, which may be gaps too, are held.
func TestHalfAListIsHeld(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400, "ACTIVE")
	e.mustRun(engine.Options{})
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Skip: 2, NoNext: true}) // three pages of 50, then no next link
	e.clock.Advance(time.Hour)
	absent := len(e.truth()) - 150
	r := e.runHeld(engine.Options{Full: true}, absent-engine.ConfirmLimit,
		fmt.Sprintf("the listing left out %d of the %d absent users checked", engine.ConfirmLimit, engine.ConfirmLimit))
	if r.Fetched != 150 || !strings.Contains(strings.Join(r.Warnings, "\n"), "left out 100 users that still exist") {
		t.Fatalf("fetched %d, warnings %q", r.Fetched, r.Warnings)
	}
	e.assertSinkIsTruth()
	// Confirmed by the admin, the same short listing deletes every user
	// it left out, those known to exist too (a role narrowed on purpose).
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Skip: 2, NoNext: true})
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{ConfirmDeletes: true}); r.Deleted != absent {
		t.Fatalf("confirmed: %d deleted, want %d", r.Deleted, absent)
	}
	// The next full run lists everyone: they come back, nothing is held.
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{Full: true}); r.Deleted != 0 || r.Upserted != absent || len(e.heldIDs()) != 0 || e.state().Hold != nil {
		t.Fatalf("after the listing came back: %+v, %d held", r, len(e.heldIDs()))
	}
	e.assertSinkIsTruth()
}

// --max-deletes as a number, and none.
func TestMaxDeletesNumberAndNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE")
	e.conn.MaxDeletes, _ = connector.ParseDeleteLimit("3")
	e.save()
	e.mustRun(engine.Options{})
	active := e.sim.IDs("ACTIVE")
	suspend := func(ids []string) {
		for _, id := range ids {
			if err := e.sim.SetStatus(id, "SUSPENDED"); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(time.Hour)
	}
	suspend(active[len(active)-3:])
	if r := e.mustRun(engine.Options{}); r.Deleted != 3 {
		t.Fatalf("three deletes under a limit of 3: %+v", r)
	}
	suspend(active[len(active)-7 : len(active)-3])
	e.runHeld(engine.Options{}, 4, "exceed --max-deletes 3 (at most 3 of the")
	// Without a limit, the next run delivers its own five and the four it
	// reads again in its overlap (changed since the watermark).
	e.conn.MaxDeletes, _ = connector.ParseDeleteLimit("none")
	e.save()
	suspend(active[len(active)-12 : len(active)-7])
	if r := e.mustRun(engine.Options{}); r.Deleted != 9 {
		t.Fatalf("nine deletes without a limit: %+v", r)
	}
	if len(e.heldIDs()) != 0 || e.state().Hold != nil {
		t.Fatalf("still held: %d", len(e.heldIDs()))
	}
	e.assertSinkIsTruth()
}

// A dry run says which deletes a run would hold, and writes nothing.
func TestDryRunShowsHeldDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200, "ACTIVE")
	e.mustRun(engine.Options{})
	e.sim.SetNoAdmin(true)
	var held []string
	_, err := e.eng.Run(t.Context(), e.conn, e.prov, engine.Options{Full: true, DryRun: true, Change: func(c engine.Change) {
		if c.Held {
			held = append(held, c.SourceID)
		}
	}})
	var he *engine.HeldError
	if !errors.As(err, &he) || he.Count != len(e.truth()) || len(held) != he.Count {
		t.Fatalf("dry run: %v, %d held changes", err, len(held))
	}
	slices.Sort(held)
	if !slices.Equal(held, e.truth()) {
		t.Fatal("the held changes are not the delivered users")
	}
	if e.state().Hold != nil || len(e.heldIDs()) != 0 {
		t.Fatal("a dry run wrote its hold")
	}
}

// A listing whose next links never end fails the pass after ten times the
// last full pass's pages plus 100: nothing deleted, the cursor unmoved.
func TestEndlessListingFailsCleanly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE")
	e.mustRun(engine.Options{})
	pages := e.state().FullPages
	if pages < 4 {
		t.Fatalf("the full pass read %d pages", pages)
	}
	var cur store.Cursor
	_ = e.db.View(func(tx *store.Tx) (err error) { cur, _, err = tx.Cursor(e.conn.ID); return err })
	e.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 1 << 30, EndlessNext: true})
	e.clock.Advance(time.Hour)
	before := len(e.fake.Accepted())
	_, err := e.run(engine.Options{Full: true})
	if err == nil || !errors.Is(err, fault.ErrTransient) || !strings.Contains(err.Error(), "went on past") {
		t.Fatalf("run: %v", err)
	}
	bound := 10*pages + 100
	if got := e.sim.Calls()["users"]; got < bound || got > bound+pages+10 {
		t.Errorf("%d users pages read, the bound is %d", got, bound)
	}
	if e.deletesAccepted(before) != 0 {
		t.Fatal("a failed pass deleted")
	}
	var after store.Cursor
	_ = e.db.View(func(tx *store.Tx) (err error) { after, _, err = tx.Cursor(e.conn.ID); return err })
	if !after.Saved.Equal(cur.Saved) || string(after.Value) != string(cur.Value) {
		t.Fatal("the cursor moved")
	}
	e.assertSinkIsTruth()
}

// OneLogin's account comes from the token answer's account_id: a run
// against another account holds its deletes, as for Okta.
func TestAnotherOneLoginAccountHoldsDeletes(t *testing.T) {
	t.Parallel()
	e, sim := newOneLoginEnv(t, 200, "active")
	e.mustRun(engine.Options{})
	if st := e.state(); st.Identity != "onelogin account "+strconv.FormatInt(sim.AccountID(), 10) {
		t.Fatalf("identity %q", st.Identity)
	}
	sim.Delete(sim.IDs(1)[0])
	sim.SetAccountID(777001)
	// Each run builds its client (the daemon and the CLI do), so the new
	// token answer is read.
	client, err := onelogin.New(onelogin.Options{BaseURL: e.conn.URL, ClientID: "ol", ClientSecret: secret.New([]byte("ol-secret")),
		Clock: e.clock, Logger: e.log})
	if err != nil {
		t.Fatal(err)
	}
	e.prov = client
	e.clock.Advance(time.Hour)
	e.runHeld(engine.Options{Full: true}, 1, "answered as onelogin account 777001")
}
