package oktatest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The System Log as okta-api.md §5.6 describes it: mutations leave their
// events with Okta's types and targets, filters by eventType, a polling
// query always links to the next poll (the same after when nothing came),
// events show only after the log's lag, and a token that may not read the
// log gets 403.
func TestSystemLogPolling(t *testing.T) {
	s, ts, fc := start(t, Options{Users: 40, NoLimits: true, LogLag: 3 * time.Second})
	id := s.IDs("ACTIVE")[0]
	if err := s.Assign(id, 4); err != nil {
		t.Fatal(err)
	}
	s.Noise(5)
	if err := s.Unassign(id, 4); err != nil {
		t.Fatal(err)
	}
	dev, err := s.AddDevice(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDevice(dev); err != nil {
		t.Fatal(err)
	}
	filter := url.QueryEscape(`eventType eq "application.user_membership.add" or eventType eq "application.user_membership.remove" or eventType eq "device.user.add" or eventType eq "device.user.remove"`)
	path := "/api/v1/logs?since=2026-03-01T00:00:00.000Z&filter=" + filter
	h, events := ok(t, ts, path)
	if len(events) != 0 {
		t.Fatalf("before the lag: %d events", len(events))
	}
	_ = nextLink(t, h) // a polling query links to the next poll even when empty
	fc.Advance(4 * time.Second)
	h, events = ok(t, ts, path)
	var types []string
	for _, e := range events {
		types = append(types, e["eventType"].(string))
	}
	if strings.Join(types, ",") != "application.user_membership.add,application.user_membership.remove,device.user.add,device.user.remove" {
		t.Fatalf("events %v", types)
	}
	targets := events[0]["target"].([]any)
	kinds := map[string]string{}
	for _, tg := range targets {
		m := tg.(map[string]any)
		kinds[m["type"].(string)] = m["id"].(string)
	}
	if kinds["User"] != id || kinds["AppInstance"] != s.AppID(4) || !strings.HasPrefix(kinds["AppUser"], "0ua") {
		t.Errorf("membership targets %v", kinds)
	}
	if dt := events[2]["target"].([]any)[0].(map[string]any); dt["type"] != "Device" || dt["id"] != dev {
		t.Errorf("device target %v", dt)
	}
	next := nextLink(t, h)
	h2, more := ok(t, ts, next)
	if len(more) != 0 || nextLink(t, h2) != next {
		t.Errorf("an empty poll: %d events, next %q (want the same %q)", len(more), nextLink(t, h2), next)
	}
	if err := s.Assign(id, 5); err != nil {
		t.Fatal(err)
	}
	fc.Advance(4 * time.Second)
	if _, more = ok(t, ts, next); len(more) != 1 {
		t.Errorf("the next poll: %d events, want the new one", len(more))
	}
	s.SetNoLogs(true)
	resp, body := call(t, ts, http.MethodGet, path, "SSWS "+token)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "E0000006") {
		t.Errorf("no log access: %d %s", resp.StatusCode, body)
	}
}

// Events older than the 90 days' retention are gone.
func TestSystemLogRetention(t *testing.T) {
	s, ts, fc := start(t, Options{Users: 10, NoLimits: true, TokenIdle: -1}) // 91 days unused
	if err := s.Assign(s.IDs("ACTIVE")[0], 2); err != nil {
		t.Fatal(err)
	}
	fc.Advance(91 * 24 * time.Hour)
	if _, events := ok(t, ts, "/api/v1/logs?since=2025-01-01T00:00:00.000Z"); len(events) != 0 {
		t.Errorf("%d events past retention", len(events))
	}
}

func nextLink(t *testing.T, h http.Header) string {
	t.Helper()
	for _, l := range h.Values("Link") {
		if strings.Contains(l, `rel="next"`) {
			u, err := url.Parse(strings.Trim(strings.SplitN(l, ";", 2)[0], "<>"))
			if err != nil {
				t.Fatal(err)
			}
			return u.RequestURI()
		}
	}
	t.Fatal("no next link")
	return ""
}
