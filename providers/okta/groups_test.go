package okta

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// groupFixture is an org with a group of 30 active users, read by a full
// pass and an incremental one (whose watermark is past every generated
// user's lastUpdated, so that the next pass lists only users changed
// since); it returns the group, its members and that cursor.
func groupFixture(t *testing.T) (*fixture, string, []string, []byte) {
	t.Helper()
	// Users last updated over a month; the members none of the last day's,
	// so that an incremental pass does not list them for a change of
	// their own.
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true, Spread: 30 * 24 * time.Hour}, Options{})
	var members []string
	for _, id := range f.sim.IDs("ACTIVE") {
		if at, _ := f.sim.LastUpdated(id); at.Before(t0.Add(-24*time.Hour)) && len(members) < 30 {
			members = append(members, id)
		}
	}
	g, err := f.sim.AddGroup("Sales", members...)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour) // the membership events fall before the full pass's log position
	_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if _, cur, err = f.pass(t, engine.Incremental, cur, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	return f, g, members, cur
}

// appsOf is the app instances of a user's links, asked of the simulator.
func (f *fixture) appsOf(t *testing.T, id string) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/api/v1/users/"+id+"/appLinks", nil)
	req.Header.Set("Authorization", "SSWS "+string(f.client.opts.Token.Reveal()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var links []struct{ AppInstanceID string }
	if err := json.NewDecoder(resp.Body).Decode(&links); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		out = append(out, l.AppInstanceID)
	}
	return out
}

// hasApp says whether a user read by a pass carries app id in its links.
func hasApp(u engine.User, id string) bool {
	links, _ := u.Raw["appLinks"].([]any)
	return slices.ContainsFunc(links, func(l any) bool { m, _ := l.(map[string]any); return m["appInstanceId"] == id })
}

// An app assigned to a group: Okta logs one event for the group, none for
// its members, and no member's lastUpdated moves. The incremental pass
// lists the group's members (one page, their records with it) and reads
// each member's app links again: every member comes with the app, and no
// member costs a read by ID. Taking the app back reads them again too.
// Before, the members' apps changed in Neurons only with the next full run.
func TestAGroupsAppReachesItsMembers(t *testing.T) {
	f, g, members, cur := groupFixture(t)
	const j = 5
	// Members that have the app on their own (the simulator gives each
	// well-known app to a fifth of the users) keep it when the group
	// loses it.
	hadApp := map[string]bool{}
	for _, id := range members {
		for _, a := range f.appsOf(t, id) {
			hadApp[id] = hadApp[id] || a == f.sim.AppID(j)
		}
	}
	if err := f.sim.AssignGroup(g, j); err != nil {
		t.Fatal(err)
	}
	seen := len(f.sim.Requests())
	got, next, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		if u, ok := got[id]; !ok || !hasApp(u, f.sim.AppID(j)) {
			t.Errorf("member %s: returned %v, without the group's app", id, ok)
		}
	}
	calls := map[string]int{}
	for _, q := range f.sim.Requests()[seen:] {
		path, _, _ := strings.Cut(q.URL, "?")
		calls[path]++
	}
	if calls["/api/v1/groups/"+g+"/users"] != 1 {
		t.Errorf("the members listing was asked %d times", calls["/api/v1/groups/"+g+"/users"])
	}
	for _, id := range members {
		if calls["/api/v1/users/"+id+"/appLinks"] != 1 || calls["/api/v1/users/"+id] != 0 {
			t.Errorf("member %s: %d app link reads, %d reads by ID; want 1 and 0", id, calls["/api/v1/users/"+id+"/appLinks"], calls["/api/v1/users/"+id])
		}
	}
	if w := f.client.Stats().Warnings; len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	f.clock.Advance(time.Hour)
	if err := f.sim.UnassignGroup(g, j); err != nil {
		t.Fatal(err)
	}
	got, _, err = f.pass(t, engine.Incremental, next, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		if u, ok := got[id]; !ok || hasApp(u, f.sim.AppID(j)) && !hadApp[id] {
			t.Errorf("member %s: returned %v, still with the group's app", id, ok)
		}
	}
}

// A group larger than a run reads again, a groups API the token may not
// read, and a group deleted since: the pass goes on, warns, and leaves the
// members' apps to the next full run, as before.
func TestAGroupsAppThatCannotBeFollowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(f *fixture, g string)
		warn string
	}{
		{"too large", func(*fixture, string) { maxGroupMembers = 10 }, "more than the 10 members"},
		{"refused", func(f *fixture, _ string) {
			f.sim.Inject(oktatest.Fault{Path: "/api/v1/groups", Status: 403, Times: 10})
		}, "the groups API was refused"},
		{"gone", func(f *fixture, _ string) {
			f.sim.Inject(oktatest.Fault{Path: "/api/v1/groups", Status: 404, Times: 10})
		}, "the group is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(n int) { maxGroupMembers = n }(maxGroupMembers)
			f, g, members, cur := groupFixture(t)
			tc.set(f, g)
			if err := f.sim.AssignGroup(g, 5); err != nil {
				t.Fatal(err)
			}
			seen := len(f.sim.Requests())
			got, _, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range f.sim.Requests()[seen:] {
				for _, id := range members {
					if strings.Contains(q.URL, id) {
						t.Errorf("a member read: %s", q.URL)
					}
				}
			}
			if w := strings.Join(f.client.Stats().Warnings, "\n"); !strings.Contains(w, tc.warn) || !strings.Contains(w, "with the next full run") {
				t.Errorf("warnings %q", w)
			}
			for _, id := range members {
				if _, ok := got[id]; ok {
					t.Errorf("member %s returned although the group could not be followed", id)
				}
			}
		})
	}
}
