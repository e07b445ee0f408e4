package engine_test

import (
	"slices"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// An app given to an Okta group reaches Neurons with the next incremental
// run: every member's User.AssignedApps has it (Okta logs one event for
// the group and changes no member's lastUpdated; before, the members'
// apps changed only with the next full run).
func TestAGroupsAppReachesNeuronsIncrementally(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 300, NoLimits: true, Spread: 30 * 24 * time.Hour}, "ACTIVE")
	members := e.sim.IDs("ACTIVE")[:20]
	g, err := e.sim.AddGroup("Sales", members...)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	const j = 7
	if err := e.sim.AssignGroup(g, j); err != nil {
		t.Fatal(err)
	}
	if r := e.mustRun(engine.Options{}); r.Mode != "incremental" || len(r.Warnings) != 0 {
		t.Fatalf("run %s, warnings %q", r.Mode, r.Warnings)
	}
	users := e.fake.Users(e.conn.ID)
	for _, id := range members {
		apps, _ := users[id].Attributes["User.AssignedApps"].([]any)
		if !slices.Contains(apps, any(e.sim.AppLabel(j))) {
			t.Errorf("member %s: assigned apps %v, without %q", id, apps, e.sim.AppLabel(j))
		}
	}
	e.assertSinkIsTruth()
}
