package okta

import (
	"encoding/json"
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

// join gives each user the appLinks and devices the sweeps found, and a
// state that reads back as the same apps and devices under the pass's
// numbering, which may already number some of them differently from the
// sweep's order.
func TestJoinAddsListsAndNumbersTheState(t *testing.T) {
	const a, b, c = "00uaaaaaaaaaaaaaaaaa", "00ubbbbbbbbbbbbbbbbb", "00ushort" // c: not 20 bytes
	for _, compact := range []bool{false, true} {
		e := newEnrichment()
		e.apps = []appInfo{{id: "0oa1", label: "Slack", name: "slack"}, {id: "0oa2", label: "Zoom", name: "zoom"}}
		mac := e.device(stateDevice{Platform: "MACOS", OSVersion: "14.1", Name: "Mac-1"}) // a mapping that reads names: devices one by one
		win := e.device(stateDevice{Platform: "WINDOWS", OSVersion: "11", Name: "PC-9", Manufacturer: "Lenovo", Serial: "PF0A1B2C"})
		e.addApp(a, 1)
		e.addApp(a, 0)
		e.addDevice(a, win)
		e.addDevice(c, mac)
		e.addDevice(c, win)
		if compact {
			e.compact()
		}
		n := newNumbering([]string{"0oa9", "0oa2"}, [][3]string{{"WINDOWS", "11", "PC-9"}})
		pass := newPass(cursor{}, nil)
		pass.numbers = n
		want := map[string]*userState{
			a: {Apps: []string{"0oa2", "0oa1"}, Devices: []stateDevice{{Platform: "WINDOWS", OSVersion: "11", Name: "PC-9", Manufacturer: "Lenovo", Serial: "PF0A1B2C"}}},
			b: {},
			c: {Devices: []stateDevice{{Platform: "MACOS", OSVersion: "14.1", Name: "Mac-1"},
				{Platform: "WINDOWS", OSVersion: "11", Name: "PC-9", Manufacturer: "Lenovo", Serial: "PF0A1B2C"}}},
		}
		links := map[string][]any{
			a: {map[string]any{"label": "Zoom", "appName": "zoom", "appInstanceId": "0oa2"}, map[string]any{"label": "Slack", "appName": "slack", "appInstanceId": "0oa1"}},
			b: {}, c: {},
		}
		for _, id := range []string{a, b, c, a} { // a twice: numbers and shared maps reused
			raw := map[string]any{"id": id}
			got, ok := n.decode(e.join(raw, id, pass, nil))
			if !ok || !reflect.DeepEqual(got.Apps, want[id].Apps) || !reflect.DeepEqual(got.Devices, want[id].Devices) || got.NoApps || got.NoDevices {
				t.Errorf("compact %v, %s: state %+v (%v), want %+v", compact, id, got, ok, want[id])
			}
			if !reflect.DeepEqual(raw["appLinks"], links[id]) {
				t.Errorf("compact %v, %s: appLinks %v", compact, id, raw["appLinks"])
			}
			var devs []any
			for _, d := range want[id].Devices {
				profile := map[string]any{"platform": d.Platform, "osVersion": d.OSVersion, "displayName": d.Name}
				if d.Serial != "" { // the details a device has, and only those
					profile["manufacturer"], profile["serialNumber"] = d.Manufacturer, d.Serial
				}
				devs = append(devs, map[string]any{"profile": profile})
			}
			if got := raw["devices"].([]any); len(got) != len(devs) || len(devs) > 0 && !reflect.DeepEqual(got, devs) {
				t.Errorf("compact %v, %s: devices %v, want %v", compact, id, got, devs)
			}
		}
		// Devices are numbered by (platform, OS) alone, the names kept in
		// the states; the entry with a name (as version 1 numbered it)
		// stays, unused.
		wantDevs := [][3]string{{"WINDOWS", "11", "PC-9"}, {"WINDOWS", "11", ""}, {"MACOS", "14.1", ""}}
		if apps, devs := n.tables(); !reflect.DeepEqual(apps, []string{"0oa9", "0oa2", "0oa1"}) || !reflect.DeepEqual(devs, wantDevs) {
			t.Errorf("numbering after the joins: %v %v", apps, devs)
		}
	}
	// An API the org lacks, for a user it never read: its list is left
	// out and the state says so.
	e := newEnrichment()
	e.noApps, e.noDevs = true, true
	pass := newPass(cursor{Apps: map[string][2]string{"0oa1": {"Slack", "slack"}}}, nil)
	pass.markUnavailable("apps")
	pass.markUnavailable("devices")
	n := pass.numbers
	raw := map[string]any{}
	got, ok := n.decode(e.join(raw, a, pass, nil))
	if !ok || !got.NoApps || !got.NoDevices || raw["appLinks"] != nil || raw["devices"] != nil {
		t.Errorf("without the APIs: %+v %v %v", got, ok, raw)
	}
	// For a user it read before, what it read stands, in its order; an app
	// the pass cannot name stays in the state only.
	prev := &userState{Apps: []string{"0oa7", "0oa1"}, Devices: []stateDevice{{Platform: "IOS", OSVersion: "17", Name: "Phone"}}}
	raw = map[string]any{}
	got, ok = n.decode(e.join(raw, a, pass, prev))
	if !ok || got.NoApps || got.NoDevices || !reflect.DeepEqual(got.Apps, prev.Apps) || !reflect.DeepEqual(got.Devices, prev.Devices) {
		t.Errorf("kept state %+v (%v), want %+v", got, ok, prev)
	}
	if want := []any{map[string]any{"label": "Slack", "appName": "slack", "appInstanceId": "0oa1"}}; !reflect.DeepEqual(raw["appLinks"], want) {
		t.Errorf("kept appLinks %v", raw["appLinks"])
	}
	if devs, _ := raw["devices"].([]any); len(devs) != 1 {
		t.Errorf("kept devices %v", raw["devices"])
	}
	// Unread by the mapping (skipUnread) is not refused: nothing is kept.
	unread := newPass(cursor{}, nil)
	unread.skipUnread([]string{"profile"})
	raw = map[string]any{}
	if got, ok := unread.numbers.decode(e.join(raw, a, unread, prev)); !ok || !got.NoApps || !got.NoDevices || raw["appLinks"] != nil {
		t.Errorf("unread APIs kept %+v %v", got, raw)
	}
}

// The sweeps' values are packed by user in the order they came, however
// the users interleave, and app indices past 16 bits (an org with more than
// 65,536 apps) keep their full width.
func TestPackedListsKeepEachUsersOrder(t *testing.T) {
	for _, apps := range []int{3, 1<<16 + 2} {
		e := newEnrichment()
		e.apps = make([]appInfo, apps)
		const a, b = "00uaaaaaaaaaaaaaaaaa", "00ushort"
		last := uint32(apps - 1)
		e.addApp(a, 2)
		e.addApp(b, last)
		e.addApp(a, 0)
		e.addDevice(b, 7)
		e.addApp(b, 1)
		e.addDevice(b, 3)
		e.addApp(a, last)
		e.compact()
		i, _ := e.userOf(a, false)
		j, _ := e.userOf(b, false)
		if got := e.values(i, false, nil); !slices.Equal(got, []uint32{2, 0, last}) {
			t.Errorf("%d apps: %s's apps %v", apps, a, got)
		}
		if got := e.values(j, false, nil); !slices.Equal(got, []uint32{last, 1}) {
			t.Errorf("%d apps: %s's apps %v", apps, b, got)
		}
		if got, none := e.values(j, true, nil), e.values(i, true, nil); !slices.Equal(got, []uint32{7, 3}) || len(none) != 0 {
			t.Errorf("%d apps: devices %v and %v", apps, got, none)
		}
	}
}

// Credentials that read users' app links but not apps (a custom admin
// role; an OAuth app without okta.apps.read) leave the apps the pass cannot
// name out of an incremental run, with one warning, instead of failing it.
func TestRefusedAppLookupLeavesAppsOut(t *testing.T) {
	f := newFixture(t, oktatest.Options{Users: 60, NoLimits: true}, Options{})
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/apps", Status: 403, Times: 1000})
	_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	ids := f.sim.IDs("ACTIVE")[:5]
	for _, id := range ids {
		if err := f.sim.EditProfile(id, map[string]any{"title": "Changed"}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Minute)
	got, _, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil {
		t.Fatalf("incremental pass: %v", err)
	}
	for _, id := range ids {
		if u, ok := got[id]; !ok || len(asList(u.Raw["appLinks"])) != 0 {
			t.Errorf("user %s: listed %v, appLinks %v", id, ok, u.Raw["appLinks"])
		}
	}
	n := 0
	for _, w := range f.client.Stats().Warnings {
		if strings.Contains(w, "okta apps API unavailable") && strings.Contains(w, "/api/v1/apps/") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings of the refused app lookup: %q", n, f.client.Stats().Warnings)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// Devices are numbered by (platform, OS) in the cursor; their details (a
// Windows computer's name, any device's serial number, manufacturer and
// model) are their own, so they are read and kept, in each user's state,
// only when the table reads one of them: the cursor stays small either way.
func TestDeviceDetailsOnlyWhenTheTableReadsThem(t *testing.T) {
	for _, tc := range []struct {
		sources []string
		details bool
	}{
		{nil, true},
		{[]string{"profile.firstName", "devices.profile.platform", "devices.profile.osVersion"}, false},
		{[]string{"devices.profile.displayName"}, true},
		{[]string{"devices.profile.serialNumber"}, true},
		{[]string{"devices.profile.model"}, true},
		{[]string{"devices.profile.*"}, true},
		{[]string{"devices"}, true},
		{[]string{"devicesX.profile.displayName", "devices.profile.displayNameX"}, false},
	} {
		if got := readsDeviceDetails(tc.sources); got != tc.details {
			t.Errorf("readsDeviceDetails(%q) = %v", tc.sources, got)
		}
	}
	// The (platform, OS) of each user's devices, by the run that read no
	// detail: the sweep decodes a briefer device then (deviceBrief).
	var profiles map[string][]string
	for _, extra := range []string{"", "devices.profile.displayName", "devices.profile.serialNumber"} {
		f := newFixture(t, oktatest.Options{Users: 400, NoLimits: true}, Options{})
		seen := map[string][]string{}
		sources := []string{"devices.profile.platform", "devices.profile.osVersion"}
		if extra != "" {
			sources = append(sources, extra)
		}
		detailed, detailedStates := 0, 0
		raw, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}, Sources: sources},
			func(users []engine.User) error {
				for _, u := range users {
					if s, ok := f.client.pass.numbers.decode(u.State); ok && slices.ContainsFunc(s.Devices, func(d stateDevice) bool {
						return d.Name != "" && d.Serial != "" && d.Model != "" && d.Manufacturer != ""
					}) {
						detailedStates++
					}
					for _, d := range asList(u.Raw["devices"]) {
						p, _ := d.(map[string]any)["profile"].(map[string]any)
						seen[u.ID] = append(seen[u.ID], fmt.Sprint(p["platform"], "/", p["osVersion"]))
						if p["displayName"] != "" && p["serialNumber"] != nil && p["model"] != nil && p["manufacturer"] != nil {
							detailed++
						}
					}
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		var cur cursor
		if err := json.Unmarshal(raw, &cur); err != nil {
			t.Fatal(err)
		}
		// Either way at most 8 (platform, OS) profiles are numbered (4
		// platforms, 2 OS versions each).
		if profiles == nil {
			profiles = seen
		}
		if len(seen) == 0 || !maps.EqualFunc(seen, profiles, slices.Equal) || strings.Contains(fmt.Sprint(seen), "<nil>") {
			t.Errorf("reading %q: users' device profiles differ from those read without details, or are missing", extra)
		}
		if want := extra != ""; len(cur.DeviceNumbers) > 8 || want != (detailed > 0) || want != (detailedStates > 0) {
			t.Errorf("reading %q: %d devices with details, %d states with them, %d profiles numbered", extra, detailed, detailedStates, len(cur.DeviceNumbers))
		}
	}
}
