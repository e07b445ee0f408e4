package engine_test

import (
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin/onelogintest"
)

// Runs against an org in trouble (a 429 storm on every bucket, its
// concurrency limit reached, pages of megabytes) are slower, never wrong:
// afterwards the sink holds exactly the selected users, each applied once,
// and a later round of changes arrives exactly.
func TestHostileOktaLeavesTheSinkExact(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 600, Concurrency: 2}, "ACTIVE", "SUSPENDED")
	e.sim.Inject(
		oktatest.Fault{Every: 5, Times: 1 << 30, Status: 429, ResetIn: 2 * time.Second},
		oktatest.Fault{Path: "/api/v1/users", Times: 1 << 30, Pad: 200 << 10},
		oktatest.Fault{Times: 1 << 30, Delay: time.Millisecond},
	)
	r := e.mustRun(engine.Options{})
	if r.Result != "ok" || r.RateLimitWaits == 0 {
		t.Fatalf("run %+v", r)
	}
	e.assertSinkIsTruth()
	e.assertEachAppliedOnce()
	if n := e.sim.Statuses()[429]; n == 0 {
		t.Fatal("no 429: the test proves nothing")
	}
	active := e.sim.IDs("ACTIVE")
	_ = e.sim.SetStatus(active[len(active)-1], "DEPROVISIONED")
	_ = e.sim.EditProfile(active[2], map[string]any{"title": "Storm Chaser"})
	e.clock.Advance(time.Hour)
	if r := e.mustRun(engine.Options{}); r.Deleted != 1 || r.Upserted < 1 {
		t.Fatalf("incremental run %+v", r)
	}
	e.assertSinkIsTruth()
	if got := e.fake.Users(e.conn.ID)[active[2]].Attributes["User.JobTitle"]; got != "Storm Chaser" {
		t.Fatalf("title %v", got)
	}
}

// The same for OneLogin: its load balancer's 429 storm, with budget left.
func TestHostileOneLoginLeavesTheSinkExact(t *testing.T) {
	t.Parallel()
	e, sim := newOneLoginEnv(t, 400, "active")
	sim.Inject(onelogintest.Fault{Path: "/api/2/users", Every: 3, Times: 1 << 20, Status: 429},
		onelogintest.Fault{Path: "/api/2/users", Times: 1 << 20, Pad: 100 << 10})
	r := e.mustRun(engine.Options{})
	if r.Result != "ok" || r.RateLimitWaits == 0 {
		t.Fatalf("run %+v", r)
	}
	if got, want := e.held(), oneLoginTruth(sim, 1); len(got) != len(want) {
		t.Fatalf("the sink holds %d users, the account has %d active", len(got), len(want))
	}
	e.assertEachAppliedOnce()
}
