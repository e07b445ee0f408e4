package onelogin

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"neurons-connector/engine"
	"neurons-connector/providers/onelogin/onelogintest"
)

// The client asks for 100 users a page. A server that serves 50 is read
// 50 at a time to the end; one that refuses 100 with a 400 about the limit
// is asked again with 50, once, with a warning, and the account keeps 50:
// the cursor remembers it, so the next pass asks for 50 at once.
func TestPageSizeHundredFallsBackToFifty(t *testing.T) {
	t.Parallel()
	clamped := newFixture(t, onelogintest.Options{Users: 230, MaxLimit: 50}, Options{})
	users, _, _, err := clamped.pass(t, engine.Full, nil, "active", "suspended", "unactivated", "locked",
		"password-expired", "awaiting-password-reset", "password-pending", "security-questions-required")
	if err != nil || len(users) != len(clamped.sim.IDs()) {
		t.Fatalf("a server that serves 50: %d users of %d, %v", len(users), len(clamped.sim.IDs()), err)
	}

	f := newFixture(t, onelogintest.Options{Users: 230, RefuseLimitOver: 50}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	var c cursor
	if json.Unmarshal(cur, &c) != nil || c.PageSize != 50 {
		t.Errorf("cursor %s: the page size is not remembered", cur)
	}
	if w := strings.Join(f.client.Stats().Warnings, " "); !strings.Contains(w, "refused 100 users a page") {
		t.Errorf("warnings %q", w)
	}
	var limits []string
	for _, r := range f.sim.Requests() {
		if q, _ := url.ParseQuery(r.RawQuery); r.Path == "/api/2/users" && q.Has("limit") {
			limits = append(limits, q.Get("limit")+":"+itoa(r.Status))
		}
	}
	if strings.Join(limits, " ") != "100:400 50:200" {
		t.Errorf("first requests %v", limits)
	}
	before := len(f.sim.Requests())
	if _, _, _, err := f.pass(t, engine.Incremental, cur, "active"); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.sim.Requests()[before:] {
		if q, _ := url.ParseQuery(r.RawQuery); r.Path == "/api/2/users" && q.Has("limit") && q.Get("limit") != "50" {
			t.Errorf("the next pass asked for %s", q.Get("limit"))
		}
	}
	// A full pass gets the cursor too, and does not ask for 100 again.
	before = len(f.sim.Requests())
	if _, _, _, err := f.pass(t, engine.Full, cur, "active"); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.sim.Requests()[before:] {
		if q, _ := url.ParseQuery(r.RawQuery); r.Path == "/api/2/users" && q.Has("limit") && q.Get("limit") != "50" {
			t.Errorf("the next full pass asked for %s", q.Get("limit"))
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// Every error shape OneLogin answers with gives its message, "status"
// being an object in some and a number in others.
func TestErrorMessageShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"status":400,"error":"BadRequestError","description":"limit must be between 1 and 50"}`: "limit must be between 1 and 50",
		`{"statusCode":401,"name":"Unauthorized","message":"Authentication Failure"}`:             "Authentication Failure",
		`{"status":{"error":true,"code":404,"type":"not found","message":"User not found"}}`:      "User not found",
		`<html>proxy error</html>`: "",
	} {
		if got := errorMessage([]byte(body)); got != want {
			t.Errorf("%s: %q", body, got)
		}
	}
}
