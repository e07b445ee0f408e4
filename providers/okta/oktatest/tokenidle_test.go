package oktatest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// An API token that made no request for more than 30 days is revoked for
// good (Okta's help, "Manage Okta API tokens"): the org answers it as any
// invalid token, 401 E0000011, even once it is used again. Every request
// renews it; a new token works.
func TestAnIdleAPITokenIsRevoked(t *testing.T) {
	s, ts, fc := start(t, Options{Users: 3, NoLimits: true})
	get := func() (int, string) {
		resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=1", "SSWS "+token) //nolint:bodyclose // call closes it
		return resp.StatusCode, string(body)
	}
	fc.Advance(TokenIdle) // 30 days after its creation: still valid
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("after 30 days: %d %s", code, body)
	}
	fc.Advance(TokenIdle) // renewed by that request
	if code, _ := get(); code != http.StatusOK || s.TokenRevoked() {
		t.Fatalf("30 days after its last use: %d", code)
	}
	fc.Advance(TokenIdle + time.Second)
	if code, body := get(); code != http.StatusUnauthorized || !strings.Contains(body, "E0000011") || !s.TokenRevoked() {
		t.Fatalf("more than 30 days unused: %d %s", code, body)
	}
	if code, _ := get(); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token came back: %d", code)
	}
	s.ReplaceToken("a-new-token")
	resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=1", "SSWS a-new-token") //nolint:bodyclose // call closes it
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the new token: %d %s", resp.StatusCode, body)
	}
}

// TokenIdle below zero: a token never lapses (tests whose clock jumps).
func TestATokenThatNeverLapses(t *testing.T) {
	_, ts, fc := start(t, Options{Users: 3, NoLimits: true, TokenIdle: -1})
	fc.Advance(365 * 24 * time.Hour)
	if resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=1", "SSWS "+token); resp.StatusCode != http.StatusOK { //nolint:bodyclose // call closes it
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
