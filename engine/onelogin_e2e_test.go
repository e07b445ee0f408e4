package engine_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/providers/onelogin"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/secret"
	"neurons-connector/sink"
)

// newOneLoginEnv wires the OneLogin simulator and client end to end, like
// newEnv does for Okta.
func newOneLoginEnv(t *testing.T, users int, statuses ...string) (*env, *onelogintest.Server) {
	t.Helper()
	e := &env{t: t, clock: clock.NewFake(t0), dir: t.TempDir(), logs: &bytes.Buffer{}}
	sim := onelogintest.New(onelogintest.Options{Users: users, Seed: 42, Clock: e.clock, ClientID: "ol", ClientSecret: "ol-secret", HourlyLimit: -1})
	simSrv := sim.Start()
	t.Cleanup(simSrv.Close)
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	client, err := onelogin.New(onelogin.Options{BaseURL: simSrv.URL, ClientID: "ol", ClientSecret: secret.New([]byte("ol-secret")),
		Clock: e.clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.prov = client
	e.wire(log, connector.New(onelogin.Spec, t0))
	e.conn.Name, e.conn.URL, e.conn.ClientID, e.conn.Statuses = "OneLogin sim", simSrv.URL, "ol", statuses
	e.save()
	return e, sim
}

func oneLoginTruth(sim *onelogintest.Server, codes ...int) []string {
	var out []string
	for _, id := range sim.IDs(codes...) {
		out = append(out, strconv.FormatInt(id, 10))
	}
	sort.Strings(out)
	return out
}

func TestOneLoginEndToEnd(t *testing.T) {
	t.Parallel()
	e, sim := newOneLoginEnv(t, 400, "active")
	r := e.mustRun(engine.Options{})
	if r.Mode != "full" || r.Result != "ok" {
		t.Fatalf("run %+v", r)
	}
	if got, want := e.held(), oneLoginTruth(sim, 1); !slices.Equal(got, want) {
		t.Fatalf("the sink holds %d users, the account has %d active", len(got), len(want))
	}
	// Every report carries its manager's name and e-mail, including the
	// reports of managers outside the selection (suspended, locked,
	// unactivated), which were read by id once each.
	users := e.fake.Users(e.conn.ID)
	var withManager int
	outside := map[string]bool{} // managers not delivered: outside the selection
	for id, rec := range users {
		if rec.Attributes["User.ManagerID"] == nil {
			continue
		}
		withManager++
		m := fmt.Sprint(rec.Attributes["User.ManagerID"])
		if _, in := users[m]; !in {
			outside[m] = true
		}
		if name, _ := rec.Attributes["User.Manager"].(string); name == "" || rec.Attributes["User.ManagerEmail"] == nil {
			t.Errorf("user %s: manager %v without contact fields: %v", id, rec.Attributes["User.ManagerID"], rec.Attributes)
		}
	}
	var byID int
	for _, req := range sim.Requests() {
		if strings.HasPrefix(req.Path, "/api/2/users/") {
			byID++
		}
	}
	if withManager < len(users)-1 || len(outside) == 0 || byID != len(outside) {
		t.Errorf("%d of %d users with managers, %d managers read by id, want the %d outside the selection", withManager, len(users), byID, len(outside))
	}
	e.checkGolden("../testdata/engine/onelogin-first-run.json")

	// Incremental: a title change and a suspension; then a hard delete
	// that only the next full run can see.
	e.clock.Advance(time.Hour)
	active := sim.IDs(1)
	edited, suspended, victim := active[20], active[len(active)-1], active[30]
	sim.SetTitle(edited, "Chief Tester")
	sim.SetStatus(suspended, 2)
	e.clock.Advance(time.Minute)
	before := len(e.fake.Accepted())
	r = e.mustRun(engine.Options{})
	var ups, dels int
	for _, a := range e.fake.Accepted()[before:] {
		ups, dels = ups+a.Upserts, dels+a.Deletes
	}
	if r.Mode != "incremental" || ups != 1 || dels != 1 {
		t.Errorf("incremental %s: %d upserts, %d deletes; want 1 and 1", r.Mode, ups, dels)
	}
	if reason := e.fake.DeleteReason(e.conn.ID, strconv.FormatInt(suspended, 10)); reason != sink.ReasonStatusNotSelected {
		t.Errorf("delete reason %q", reason)
	}
	if got := e.fake.Users(e.conn.ID)[strconv.FormatInt(edited, 10)].Attributes["User.JobTitle"]; got != "Chief Tester" {
		t.Errorf("title %v", got)
	}
	// A hard delete and a suspension only a full run sees: each deleted
	// with its own reason.
	locked := active[40]
	sim.Delete(victim)
	e.clock.Advance(time.Hour)
	sim.SetStatus(locked, 2)
	if r := e.mustRun(engine.Options{Full: true}); r.Deleted != 2 {
		t.Errorf("full run deleted %d", r.Deleted)
	}
	if reason := e.fake.DeleteReason(e.conn.ID, strconv.FormatInt(locked, 10)); reason != sink.ReasonStatusNotSelected {
		t.Errorf("suspension seen by a full run: delete reason %q", reason)
	}
	if e.fake.DeleteReason(e.conn.ID, strconv.FormatInt(victim, 10)) != sink.ReasonDeletedAtSource {
		t.Error("the hard delete was not delivered")
	}
	asked := 0 // the absent user confirmed gone (engine.Confirmer) before the delete
	for _, q := range sim.Requests() {
		if q.Path == "/api/2/users/"+strconv.FormatInt(victim, 10) {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("the deleted user was asked for %d times, want once", asked)
	}
	if got, want := e.held(), oneLoginTruth(sim, 1); !slices.Equal(got, want) {
		t.Fatalf("the sink holds %d users, the account has %d active", len(got), len(want))
	}
	e.assertEachAppliedOnce2(edited)
}

// assertEachAppliedOnce2 is assertEachAppliedOnce allowing one user that
// was changed, and so applied twice.
func (e *env) assertEachAppliedOnce2(changed int64) {
	e.t.Helper()
	for id, rec := range e.fake.Users(e.conn.ID) {
		if want := 1 + btoi(id == strconv.FormatInt(changed, 10)); rec.Upserts != want {
			e.t.Fatalf("user %s applied %d times, want %d", id, rec.Upserts, want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A user deleted in OneLogin leaves Neurons with the next incremental run,
// from the event log, not the next full run. Only delivered users are
// asked for by ID: the log names a deleted user the connector never sent
// too (here one created and deleted between two runs), and a deletion the
// run before already applied (the log is read with an overlap).
func TestOneLoginDeletionsReachTheNextIncrementalRun(t *testing.T) {
	t.Parallel()
	e, sim := newOneLoginEnv(t, 200, "active")
	e.mustRun(engine.Options{})
	before := len(sim.Requests()) // the full run reads managers outside the selection by ID
	e.clock.Advance(time.Hour)
	victim := sim.IDs(1)[10]
	never := sim.Create("Brief", "Visitor") // created and deleted between two runs
	sim.Delete(victim)
	sim.Delete(never)
	e.clock.Advance(time.Minute)
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" || r.Deleted != 1 || e.fake.DeleteReason(e.conn.ID, strconv.FormatInt(victim, 10)) != sink.ReasonDeletedAtSource {
		t.Fatalf("the incremental run after the deletion: %s, %d deleted", r.Mode, r.Deleted)
	}
	e.clock.Advance(time.Minute) // within the overlap: the log names the victim again
	if r := e.mustRun(engine.Options{}); r.Deleted != 0 {
		t.Errorf("the next run deleted %d", r.Deleted)
	}
	asked := map[string]int{}
	for _, q := range sim.Requests()[before:] {
		if strings.HasPrefix(q.Path, "/api/2/users/") {
			asked[strings.TrimPrefix(q.Path, "/api/2/users/")]++
		}
	}
	if asked[strconv.FormatInt(victim, 10)] != 1 || len(asked) != 1 {
		t.Errorf("asked by ID: %v (want the victim once, the never-delivered user never)", asked)
	}
	if got, want := e.held(), oneLoginTruth(sim, 1); !slices.Equal(got, want) {
		t.Fatalf("the sink holds %d users, the account has %d active", len(got), len(want))
	}
}
