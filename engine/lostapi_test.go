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

// A Classic Engine org has no devices API (okta-api.md §5.3): a user's
// phones and tablets come from its Okta Verify push factors instead
// (§5.4), one call per user the first full run delivers, none for users
// already read, and one for a user the System Log names for a factor
// change. Before, a Classic org's users had no devices at all.
func TestAClassicOrgGetsPhonesFromFactors(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, oktatest.Options{Users: 200, NoLimits: true, Classic: true}, "ACTIVE")
	factorCalls := func() int {
		n := 0
		for _, r := range e.sim.Requests() {
			if strings.Contains(r.URL, "/factors") {
				n++
			}
		}
		return n
	}
	phones := func(id string) []string { // the platforms of the user's phones and tablets, as the list transform gives them
		var out []string
		for _, d := range e.sim.DeviceIDs(id) {
			if p := e.sim.DevicePlatform(d); (p == "IOS" || p == "ANDROID") && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		return out
	}
	types := func(id string) []string {
		var out []string
		if list, ok := e.fake.Users(e.conn.ID)[id].Attributes["User.DeviceTypes"].([]any); ok {
			for _, v := range list {
				out = append(out, fmt.Sprint(v))
			}
		}
		return out
	}
	r := e.mustRun(engine.Options{})
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "Okta Verify factors") {
		t.Errorf("warnings %q", r.Warnings)
	}
	active := e.sim.IDs("ACTIVE")
	if n := factorCalls(); n != len(active) {
		t.Errorf("the first full run read %d users' factors, want one per active user (%d)", n, len(active))
	}
	var with string
	withPhones, computers := 0, 0
	for _, id := range active {
		want, got := phones(id), types(id)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("user %s: device types %v, phones and tablets %v", id, got, want)
		}
		if len(want) > 0 {
			withPhones++
			if with == "" {
				with = id
			}
		}
		if len(e.sim.DeviceIDs(id)) > len(want) {
			computers++
		}
	}
	if withPhones == 0 || computers == 0 {
		t.Fatalf("%d users with phones, %d with computers: the test needs both", withPhones, computers)
	}

	// A full run again: every user's devices are known, no call.
	before := factorCalls()
	e.clock.Advance(25 * time.Hour)
	if r := e.mustRun(engine.Options{Full: true}); r.Upserted != 0 || factorCalls() != before {
		t.Errorf("the second full run upserted %d and read %d users' factors", r.Upserted, factorCalls()-before)
	}

	// A phone unlinked (its Okta Verify enrolment reset): the log names
	// the user, whose factors alone are read again.
	for _, d := range e.sim.DeviceIDs(with) {
		if p := e.sim.DevicePlatform(d); p == "IOS" || p == "ANDROID" {
			if err := e.sim.RemoveDevice(d); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	before = factorCalls()
	e.clock.Advance(time.Hour)
	r = e.mustRun(engine.Options{})
	want, got := phones(with), types(with)
	slices.Sort(want)
	slices.Sort(got)
	if r.Upserted != 1 || !slices.Equal(got, want) || factorCalls()-before != 1 {
		t.Errorf("after a phone was unlinked: %d upserted, device types %v (want %v), %d factors calls", r.Upserted, got, want, factorCalls()-before)
	}
	e.assertSinkIsTruth()
}
