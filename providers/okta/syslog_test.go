package okta

import (
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/providers/okta/oktatest"
)

// A System Log position older than the log's 90 days' retention makes the
// next run full: events it needs may be gone. A cursor from before the log
// (version 1) is judged by its watermark.
func TestStaleLogPosition(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := &Client{}
	for raw, stale := range map[string]bool{
		`{"v":2,"watermark":"2026-12-01T00:00:00Z","log":"2026-12-01T00:00:00Z"}`: false,
		`{"v":2,"watermark":"2026-12-01T00:00:00Z","log":"2026-09-01T00:00:00Z"}`: true,
		`{"v":1,"watermark":"2026-08-01T00:00:00Z"}`:                              true,
		`{"v":1,"watermark":"2026-11-01T00:00:00Z"}`:                              false,
	} {
		why := c.FullRunNeeded([]byte(raw), now)
		if (why != "") != stale || (stale && !strings.Contains(why, "90 days")) {
			t.Errorf("%s: %q", raw, why)
		}
	}
}

// An event names its user by the User target, else by the AppUser's login;
// group app assignments are reported, not guessed.
func TestLogEventsNameTheirUsers(t *testing.T) {
	r := &logRead{apps: map[string]bool{}, devices: map[string]bool{}, deleted: map[string]bool{}}
	r.note(logEvent{EventType: "application.user_membership.add", Target: []logTarget{{ID: "0ua1", Type: "AppUser", AlternateID: "ann@x"},
		{ID: "0oa1", Type: "AppInstance"}, {ID: "00uA", Type: "User"}}})
	r.note(logEvent{EventType: "application.user_membership.remove", Target: []logTarget{{ID: "0ua2", Type: "AppUser", AlternateID: "bo@x"}}})
	r.note(logEvent{EventType: "device.user.remove", Target: []logTarget{{ID: "guo1", Type: "Device"}, {ID: "00uC", Type: "User"}}})
	r.note(logEvent{EventType: "user.lifecycle.delete.completed", Target: []logTarget{{ID: "00uD", Type: "User"}}})
	r.note(logEvent{EventType: "group.application_assignment.add", Target: []logTarget{{ID: "00gG", Type: "UserGroup"}, {ID: "0oa2", Type: "AppInstance"}}})
	r.note(logEvent{EventType: "device.lifecycle.delete", Target: []logTarget{{ID: "guo2", Type: "Device"}}})
	if !r.apps["00uA"] || !r.apps["bo@x"] || !r.devices["00uC"] || !r.deleted["00uD"] || len(r.groups) != 1 || len(r.devices) != 1 {
		t.Errorf("%+v", r)
	}
}

// A user's state is a few bytes of numbers; numbers a saved cursor lacks
// (written by a pass that failed before its cursor was saved) read as no
// state, never as other apps.
func TestUserStateNumbers(t *testing.T) {
	n := newNumbering([]string{"0oaA"}, nil)
	s := &userState{Apps: []string{"0oaA", "0oaB"}, Devices: []stateDevice{{Platform: "IOS", OSVersion: "17.4", Name: "iPhone 15"},
		{Platform: "MACOS", OSVersion: "15.1", Name: "Ada's Mac", Manufacturer: "Apple", Model: "MacBook Pro", Serial: "C02XK1ABCD12"}}}
	b := n.encode(s)
	if len(b) > 12+len("iPhone 15")+len("Ada's Mac")+len("AppleMacBook ProC02XK1ABCD12")+3 { // a few bytes, and each device's details
		t.Errorf("%d bytes", len(b))
	}
	back, ok := n.decode(b)
	if !ok || len(back.Apps) != 2 || back.Apps[1] != "0oaB" || back.Devices[0].Name != "iPhone 15" || back.Devices[1] != s.Devices[1] {
		t.Fatalf("%+v %v", back, ok)
	}
	apps, devs := n.tables()
	saved := newNumbering(apps[:1], devs) // the cursor before 0oaB was numbered
	if _, ok := saved.decode(b); ok {
		t.Error("a number the cursor lacks was read")
	}
	if _, ok := n.decode([]byte(`{"a":["0oaA"]}`)); ok {
		t.Error("a state of another format was read")
	}
	for cut := 1; cut < len(b); cut++ {
		if _, ok := n.decode(b[:cut]); ok {
			t.Errorf("a state cut to %d bytes was read", cut)
		}
	}
	// Version 1 (before names were kept in the state) numbered each
	// device with its name; such a state still reads.
	v1 := newNumbering([]string{"0oaA"}, [][3]string{{"WINDOWS", "11", "DESKTOP-1"}})
	if back, ok := v1.decode([]byte{1, 0, 1, 0, 1, 0}); !ok || back.Devices[0] != (stateDevice{Platform: "WINDOWS", OSVersion: "11", Name: "DESKTOP-1"}) || back.Apps[0] != "0oaA" {
		t.Errorf("a version 1 state: %+v %v", back, ok)
	}
}

// A log with more events to read than a full run would cost is read
// around: the pass warns, reads every changed user's apps and devices
// itself, and completes.
func TestALogTooLongToReadIsReadAround(t *testing.T) {
	saved := maxLogPages
	maxLogPages = 1
	defer func() { maxLogPages = saved }()
	f := newFixture(t, oktatest.Options{Users: 50, NoLimits: true}, Options{PageSize: 100})
	_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	id := f.sim.IDs("ACTIVE")[0]
	for range 501 { // 1,002 membership events: more than one page of the log
		if err := f.sim.Assign(id, 3); err != nil {
			t.Fatal(err)
		}
		if err := f.sim.Unassign(id, 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.sim.EditProfile(id, map[string]any{"title": "Still read"}); err != nil {
		t.Fatal(err)
	}
	got, next, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil || next == nil {
		t.Fatalf("%v", err)
	}
	if w := strings.Join(f.client.Stats().Warnings, " "); !strings.Contains(w, "too long to read") {
		t.Errorf("warnings %q", w)
	}
	if _, ok := got[id].Raw["appLinks"]; !ok {
		t.Errorf("the changed user's apps were not read: %v", got[id].Raw)
	}
}
