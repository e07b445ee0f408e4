package engine_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// assertSinkIsAFullRun checks every attribute of every user the sink holds
// against what a first full run of the same tenant delivers, into a
// database and sink of its own.
func (e *env) assertSinkIsAFullRun() {
	e.t.Helper()
	fresh := &env{t: e.t, clock: e.clock, sim: e.sim, prov: e.prov, dir: e.t.TempDir(), logs: e.logs}
	fresh.wire(e.log, e.conn)
	fresh.conn.ID = connector.NewID("c_", e.clock.Now())
	fresh.save()
	fresh.mustRun(engine.Options{Full: true})
	want, got := fresh.fake.Users(fresh.conn.ID), e.fake.Users(e.conn.ID)
	if len(got) != len(want) {
		e.t.Fatalf("the sink holds %d users, a full run delivers %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			e.t.Fatalf("user %s is missing", id)
		}
		if !reflect.DeepEqual(g.Attributes, w.Attributes) {
			for _, attrs := range []map[string]any{w.Attributes, g.Attributes} {
				for k := range attrs {
					if !reflect.DeepEqual(g.Attributes[k], w.Attributes[k]) {
						e.t.Errorf("user %s: %s is %v, a full run says %v", id, k, g.Attributes[k], w.Attributes[k])
					}
				}
			}
			e.t.FailNow()
		}
	}
}

var perUserCall = regexp.MustCompile(`/api/v1/users/[^/?]+(/appLinks|/devices)?(\?|$)`)

// perUserCalls counts the requests since from about single users, by the
// user they named and their kind (user, appLinks, devices).
func (e *env) perUserCalls(from int) map[string][]string {
	out := map[string][]string{}
	for _, r := range e.sim.Requests()[from:] {
		path := r.URL
		if i := strings.Index(path, "/api/v1/users/"); i >= 0 {
			path = path[i:]
		}
		m := perUserCall.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		id := strings.Split(strings.TrimPrefix(path, "/api/v1/users/"), "/")[0]
		id = strings.SplitN(id, "?", 2)[0]
		kind := "user"
		if m[1] != "" {
			kind = m[1][1:]
		}
		out[id] = append(out[id], kind)
	}
	return out
}

// App assignments and removals, device links and unlinks, a hard delete
// and profile edits reach the sink in the first incremental run after them,
// exactly as a full run would have delivered them; profile edits cost no
// call of their own, and each user the log names costs a call for what
// changed (and one to read it, when its profile did not change).
func TestIncrementalRunsFollowTheSystemLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300, "ACTIVE", "SUSPENDED")
	e.mustRun(engine.Options{})
	ids := e.sim.IDs("ACTIVE")
	e.clock.Advance(time.Hour)
	edited, assigned, unassigned, devAdded := ids[0:5], ids[5:8], ids[8:10], ids[10]
	for _, id := range edited {
		must(t, e.sim.EditProfile(id, map[string]any{"title": "Edited " + id}))
	}
	for _, id := range assigned {
		must(t, e.sim.Assign(id, 7))
	}
	must(t, e.sim.Assign(edited[0], 9)) // a profile edit and an assignment: one listing, one appLinks call
	for _, id := range unassigned {
		must(t, e.sim.Unassign(id, 0+1))
	}
	_, err := e.sim.AddDevice(devAdded)
	must(t, err)
	var devRemoved string
	for _, id := range ids[11:] {
		if d := e.sim.DeviceIDs(id); len(d) > 0 {
			devRemoved = id
			must(t, e.sim.RemoveDevice(d[0]))
			break
		}
	}
	victim := ids[len(ids)-1] // manages nobody: a deleted manager's reports keep its contact until the next full run
	must(t, e.sim.Deactivate(victim))
	must(t, e.sim.Delete(victim))
	e.clock.Advance(time.Minute)

	from := len(e.sim.Requests())
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" {
		t.Fatalf("mode %s (%s)", r.Mode, r.ModeReason)
	}
	calls := e.perUserCalls(from)
	for _, id := range edited[1:] {
		if len(calls[id]) != 0 {
			t.Errorf("profile edit of %s cost %v", id, calls[id])
		}
	}
	// The simulator's users were all updated within the overlap of the
	// first incremental run, which therefore lists them all: the users the
	// log names cost only the call for what changed. (A user outside the
	// listing costs a GET more: TestLogNamesAUserOutsideTheListing.)
	want := map[string]string{edited[0]: "appLinks", devAdded: "devices", devRemoved: "devices", victim: "user"}
	for _, id := range append(assigned, unassigned...) {
		want[id] = "appLinks"
	}
	for id, w := range want {
		if got := strings.Join(calls[id], " "); got != w {
			t.Errorf("user %s: calls %q, want %q", id, got, w)
		}
	}
	if len(calls) != len(want) {
		t.Errorf("per-user calls for %d users, want %d: %v", len(calls), len(want), calls)
	}
	if e.fake.DeleteReason(e.conn.ID, victim) != "deleted-at-source" {
		t.Errorf("the hard delete: reason %q", e.fake.DeleteReason(e.conn.ID, victim))
	}
	e.assertSinkIsAFullRun()

	// The next run reads the log from before the last one's end (the
	// overlap) and applies nothing twice: no call for the users above.
	e.clock.Advance(2 * time.Minute)
	from = len(e.sim.Requests())
	r = e.mustRun(engine.Options{})
	if calls := e.perUserCalls(from); len(calls) != 0 || r.Upserted != 0 || r.Deleted != 0 {
		t.Errorf("a run with nothing new: per-user calls %v, upserted %d, deleted %d", calls, r.Upserted, r.Deleted)
	}
}

// An event the log shows only after the run that read it is read by the
// next run: the log lags, and the overlap covers the lag.
func TestLateEventsAreReadByTheNextRun(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 200, NoLimits: true, LogLag: 20 * time.Second}, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	apps := func(id string) string { return fmt.Sprint(e.fake.Users(e.conn.ID)[id].Attributes["User.AssignedApps"]) }
	var id string
	for _, u := range e.sim.IDs("ACTIVE") {
		if !strings.Contains(apps(u), "Confluence") {
			id = u
			break
		}
	}
	must(t, e.sim.Assign(id, 6)) // Confluence, visible in the log 20 s from now
	e.mustRun(engine.Options{})
	if strings.Contains(apps(id), "Confluence") {
		t.Fatalf("the event was read before it was visible: %s", apps(id))
	}
	e.clock.Advance(30 * time.Second)
	e.mustRun(engine.Options{})
	if !strings.Contains(apps(id), "Confluence") {
		t.Fatalf("the late event was never read: %s", apps(id))
	}
	e.assertSinkIsAFullRun()
}

// Without access to the System Log an incremental run goes on as before
// (every changed user read in full) with one warning that names what to
// grant; the full run catches the rest. A log position past the log's 90
// days makes the run full.
func TestNoLogAccessAndAStalePosition(t *testing.T) {
	t.Parallel()
	// 91 days without a run: an API token lapses after 30 unused
	// (TestAnIdleAPITokenIsRevoked); this test is about the position.
	e := newEnvWith(t, oktatest.Options{Users: 200, NoLimits: true, TokenIdle: -1}, "ACTIVE")
	e.mustRun(engine.Options{})
	e.sim.SetNoLogs(true)
	e.clock.Advance(time.Hour)
	ids := e.sim.IDs("ACTIVE")
	must(t, e.sim.Assign(ids[1], 8))
	must(t, e.sim.EditProfile(ids[2], map[string]any{"title": "Seen anyway"}))
	from := len(e.sim.Requests())
	r := e.mustRun(engine.Options{})
	warn := strings.Join(r.Warnings, " ")
	if !strings.Contains(warn, "System Log is not readable") || !strings.Contains(warn, "Read-Only Administrator") {
		t.Errorf("warnings %q", r.Warnings)
	}
	if calls := e.perUserCalls(from); strings.Join(calls[ids[2]], " ") != "appLinks devices" {
		t.Errorf("a changed user without the log: %v", calls[ids[2]])
	}
	r = e.mustRun(engine.Options{Full: true})
	e.assertSinkIsAFullRun()

	e.sim.SetNoLogs(false)
	e.clock.Advance(91 * 24 * time.Hour)
	r = e.mustRun(engine.Options{})
	if r.Mode != "full" {
		t.Errorf("after 91 days: %s (%s)", r.Mode, r.ModeReason)
	}
	// --full-every (at most 31 days) makes that run full first; the
	// provider's own check is tested with the client (TestStaleLogPosition).
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A user the log names whose profile did not change since the listing's
// reach is read by ID (one call) and then for what changed (one more).
func TestLogNamesAUserOutsideTheListing(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 200, NoLimits: true, Spread: 30 * 24 * time.Hour}, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	e.mustRun(engine.Options{}) // the overlap now reaches only recent changes
	e.clock.Advance(time.Hour)
	old := ""
	for _, id := range e.sim.IDs("ACTIVE") {
		if lu, _ := e.sim.LastUpdated(id); lu.Before(e.clock.Now().Add(-24 * time.Hour)) {
			old = id
			break
		}
	}
	must(t, e.sim.Assign(old, 5))
	from := len(e.sim.Requests())
	e.mustRun(engine.Options{})
	if got := strings.Join(e.perUserCalls(from)[old], " "); got != "user appLinks" {
		t.Errorf("calls %q", got)
	}
	e.assertSinkIsAFullRun()
}

// Two events of the same second, one before a run and one after it: the
// second run reads the second and does not apply the first again.
func TestSameSecondEventsAcrossTwoRuns(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 200, NoLimits: true, Spread: 30 * 24 * time.Hour}, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	ids := e.sim.IDs("ACTIVE")
	must(t, e.sim.Assign(ids[3], 10))
	e.mustRun(engine.Options{})
	must(t, e.sim.Assign(ids[4], 10)) // the same second as the run's read: the clock did not move
	from := len(e.sim.Requests())
	e.mustRun(engine.Options{})
	calls := e.perUserCalls(from)
	if len(calls[ids[3]]) != 0 || len(calls[ids[4]]) == 0 {
		t.Errorf("calls %v: the first event read twice, or the second missed", calls)
	}
	e.assertSinkIsAFullRun()
}
