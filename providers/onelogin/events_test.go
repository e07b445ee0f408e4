package onelogin

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/onelogin/onelogintest"
)

// A user deleted for good is in no listing; the event log names it. The
// incremental pass after the deletion hands it to the engine as deleted,
// once a GET by id has answered 404: an event about a user who is still
// there (restored by a directory, say) deletes nobody, and a user the pass
// listed costs no GET.
func TestAnIncrementalPassReadsDeletionsFromTheEventLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 150, Seed: 3, EventNullStrings: true, EventTypeAsString: true}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	active := f.sim.IDs(1)
	gone := active[:60] // more than a page of the log (50)
	for _, id := range gone {
		f.sim.Delete(id)
	}
	still, edited := active[70], active[71]
	f.sim.AddEvent(onelogintest.EventUserDeleted, still)
	f.sim.AddEvent(onelogintest.EventUserDeleted, edited)
	f.sim.SetTitle(edited, "Listed Anyway")
	f.clock.Advance(5 * time.Minute)
	before := len(f.sim.Requests())
	users, _, next, err := f.pass(t, engine.Incremental, cur, "active")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range gone {
		if u, ok := users[strconv.FormatInt(id, 10)]; !ok || !u.Deleted {
			t.Fatalf("user %d, deleted, came as %+v", id, u)
		}
	}
	if u := users[strconv.FormatInt(still, 10)]; u.Deleted {
		t.Error("a user the log names but GET still finds was deleted")
	}
	if u := users[strconv.FormatInt(edited, 10)]; u.Deleted || u.Raw["title"] != "Listed Anyway" {
		t.Errorf("the edited user: %+v", u)
	}
	gets, logs := 0, 0
	for _, r := range f.sim.Requests()[before:] {
		switch {
		case strings.HasPrefix(r.Path, "/api/2/users/"):
			gets++
			if r.Path == "/api/2/users/"+strconv.FormatInt(edited, 10) {
				t.Error("the pass asked for a user it had listed")
			}
		case r.Path == "/api/1/events":
			logs++
			q, _ := url.ParseQuery(r.RawQuery)
			if q.Get("event_type_id") != "17" || q.Get("since") != t0.Add(-Overlap).Format(time.RFC3339) {
				t.Errorf("the log was asked %s", r.RawQuery)
			}
		}
	}
	if gets != 61 || logs != 2 {
		t.Errorf("%d GETs by id (want 61: the deleted and the one still there), %d pages of the log (want 2)", gets, logs)
	}
	var c1, c2 cursor
	_ = json.Unmarshal(cur, &c1)
	_ = json.Unmarshal(next, &c2)
	if !c1.Events.Equal(t0) || !c2.Events.Equal(t0.Add(65*time.Minute)) {
		t.Errorf("the log's position: %v after the full pass, %v after the incremental one", c1.Events, c2.Events)
	}
}

// A log that cannot be read (here a 500 every time) is a warning: the
// pass delivers what it listed, and the next pass reads the log again from
// the same place, so no deletion is skipped.
func TestAnEventLogThatFailsIsReadAgainNextTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 40, Seed: 4}, Options{MaxRetries: 1})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	victim := f.sim.IDs(1)[0]
	f.sim.Delete(victim)
	f.sim.Inject(onelogintest.Fault{Path: "/api/1/events", Times: 10, Status: 500})
	users, _, next, err := f.pass(t, engine.Incremental, cur, "active")
	if err != nil {
		t.Fatal(err)
	}
	for id, u := range users {
		if u.Deleted {
			t.Errorf("user %s deleted by a pass whose log failed", id)
		}
	}
	if w := strings.Join(f.client.Stats().Warnings, "\n"); !strings.Contains(w, "onelogin: the event log could not be read (gave up after 2 failed attempts: onelogin: GET /api/1/events: HTTP 500") {
		t.Errorf("warnings: %q", w)
	}
	var c1, c2 cursor
	_ = json.Unmarshal(cur, &c1)
	_ = json.Unmarshal(next, &c2)
	if !c2.Events.Equal(c1.Events) {
		t.Fatalf("the log's position moved past a read that failed: %v to %v", c1.Events, c2.Events)
	}
	f.sim.ClearFaults()
	f.clock.Advance(time.Hour)
	users, _, _, err = f.pass(t, engine.Incremental, next, "active")
	if err != nil {
		t.Fatal(err)
	}
	if u := users[strconv.FormatInt(victim, 10)]; !u.Deleted {
		t.Errorf("the deletion was not read the next time: %+v", u)
	}
}

// A log holding more deletions than a run reads (a directory sync gone
// wrong): the run reads its bound, warns, and the next one reads on from
// where this one began, instead of spending the hourly budget on the same
// thousands of events at every run. The full run finds the deletions.
func TestALongEventLogIsReadOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 30, Seed: 5, HourlyLimit: -1}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	for range maxEventPages*50 + 1 {
		f.sim.AddEvent(onelogintest.EventUserDeleted, 1) // a user that never was
	}
	f.clock.Advance(time.Minute)
	_, _, next, err := f.pass(t, engine.Incremental, cur, "active")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(f.client.Stats().Warnings, "\n"); !strings.Contains(w, "more than 10000 deletions logged since the last run") {
		t.Errorf("warnings: %q", w)
	}
	var c2 cursor
	_ = json.Unmarshal(next, &c2)
	if !c2.Events.Equal(f.clock.Now()) {
		t.Errorf("the log's position after a read cut short: %v, want the time the read began, %v", c2.Events, f.clock.Now())
	}
}

// connector test says whether the event log reads: a credential or proxy
// that refuses it fails nothing, but deletions then wait for full runs.
func TestCheckSaysWhetherTheEventLogReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 10}, Options{MaxRetries: 1})
	msg, err := f.client.Check(context.Background(), nil)
	if err != nil || !strings.Contains(msg, "lists 10 users; its event log, where incremental runs find deleted users, reads too") {
		t.Fatalf("%q, %v", msg, err)
	}
	f.sim.Inject(onelogintest.Fault{Path: "/api/1/events", Times: 5, Status: 403})
	msg, err = f.client.Check(context.Background(), nil)
	if err != nil || !strings.Contains(msg, "but its event log could not be read (GET /api/1/events: HTTP 403") ||
		!strings.Contains(msg, "deleted users leave Neurons with full runs only") {
		t.Fatalf("%q, %v", msg, err)
	}
}

// A page of the event log that loops over its events (a broken server, a
// proxy) is read only as far as maxPageEvents: the log is a warning for
// this run, as any unreadable log is, and the pass goes on; the deletion
// waits for the next run that reads the log, or the full run.
func TestALoopingEventPageIsAWarning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 150, HourlyLimit: -1}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	gone := f.sim.IDs(1)[5]
	f.sim.Delete(gone)
	f.clock.Advance(5 * time.Minute)
	f.sim.Inject(onelogintest.Fault{Path: "/api/1/events", Times: 1 << 30, Repeat: 100_000})
	users, _, _, err := f.pass(t, engine.Incremental, cur, "active")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := users[strconv.FormatInt(gone, 10)]; ok && u.Deleted {
		t.Error("the deletion came from a page that was not read")
	}
	warned := strings.Join(f.client.Stats().Warnings, " ")
	if !strings.Contains(warned, "more than 1000 events on one page") || !strings.Contains(warned, "event log could not be read") {
		t.Errorf("warnings: %q", warned)
	}
}
