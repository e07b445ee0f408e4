package engine_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// A token that loses read access to apps or devices (a custom admin role
// edited, an OAuth scope revoked) must not wipe every user's apps or
// devices in Neurons: runs keep what they last read and say so, a profile
// edit meanwhile changes only the profile, and once access is back the
// next full run delivers what changed in the meantime.
func TestALostAPIKeepsWhatWasRead(t *testing.T) {
	t.Parallel()
	for _, api := range []struct {
		path, target string
	}{
		{"/api/v1/apps", "User.AssignedApps"},
		{"/api/v1/devices", "User.DeviceTypes"},
	} {
		t.Run(api.path, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, oktatest.Options{Users: 300, NoLimits: true}, "ACTIVE")
			e.mustRun(engine.Options{})
			values := func() map[string]string {
				out := map[string]string{}
				for id, rec := range e.fake.Users(e.conn.ID) {
					out[id] = fmt.Sprint(rec.Attributes[api.target])
				}
				return out
			}
			before := values()
			var with string // a user with a value (and without app 11, which it is assigned below)
			for _, id := range slices.Sorted(maps.Keys(before)) {
				if v := before[id]; v != "<nil>" && !strings.Contains(v, "Microsoft 365") {
					with = id
					break
				}
			}
			if with == "" {
				t.Fatalf("no user has %s: the test proves nothing", api.target)
			}

			e.sim.Inject(oktatest.Fault{Path: api.path, Times: 1 << 30, Status: 403})
			e.clock.Advance(25 * time.Hour)
			r := e.mustRun(engine.Options{Full: true})
			if r.Upserted != 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "kept as last read") {
				t.Errorf("full run without the API: %d upserted, warnings %q", r.Upserted, r.Warnings)
			}
			if got := values(); !reflect.DeepEqual(got, before) {
				t.Fatalf("a full run without the API changed %s", api.target)
			}

			_ = e.sim.EditProfile(with, map[string]any{"title": "Kept Apart"})
			e.clock.Advance(time.Hour)
			if r := e.mustRun(engine.Options{}); r.Upserted != 1 {
				t.Errorf("incremental run without the API upserted %d, want the edited user", r.Upserted)
			}
			rec := e.fake.Users(e.conn.ID)[with]
			if rec.Attributes["User.JobTitle"] != "Kept Apart" || fmt.Sprint(rec.Attributes[api.target]) != before[with] {
				t.Fatalf("edited user: title %v, %s %v (was %s)", rec.Attributes["User.JobTitle"], api.target, rec.Attributes[api.target], before[with])
			}

			// An assignment made while apps are refused arrives once they
			// answer again.
			if api.target == "User.AssignedApps" {
				_ = e.sim.Assign(with, 11) // Microsoft 365
			}
			e.sim.ClearFaults()
			e.clock.Advance(25 * time.Hour)
			e.mustRun(engine.Options{Full: true})
			e.assertSinkIsTruth()
			if api.target == "User.AssignedApps" && fmt.Sprint(e.fake.Users(e.conn.ID)[with].Attributes[api.target]) == before[with] {
				t.Errorf("the assignment made while the API was refused never arrived: %s", before[with])
			}
		})
	}
}
