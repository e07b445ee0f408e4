package oktatest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The org's identity comes from GET /api/v1/org and, without any
// credentials, from /.well-known/okta-organization (the vendor spec gives it
// no security); a token without an admin role gets 403 from the first but
// still the second.
func TestOrgIdentity(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 5, NoLimits: true})
	idOf := func(path, auth string) (int, string) {
		t.Helper()
		resp, body := call(t, ts, http.MethodGet, path, auth)
		var v struct {
			ID       string `json:"id"`
			Pipeline string `json:"pipeline"`
		}
		_ = json.Unmarshal(body, &v)
		return resp.StatusCode, v.ID
	}
	code, org := idOf("/api/v1/org", "SSWS "+token)
	if code != 200 || !strings.HasPrefix(org, "00o") {
		t.Fatalf("org: %d %q", code, org)
	}
	if code, id := idOf("/.well-known/okta-organization", ""); code != 200 || id != org {
		t.Fatalf("well-known without auth: %d %q, want %q", code, id, org)
	}
	s.SetOrgID("00onewtenant000000x7")
	if _, id := idOf("/api/v1/org", "SSWS "+token); id != "00onewtenant000000x7" {
		t.Errorf("org after SetOrgID: %q", id)
	}
	if _, id := idOf("/.well-known/okta-organization", ""); id != "00onewtenant000000x7" {
		t.Errorf("well-known after SetOrgID: %q", id)
	}

	_, na, _ := start(t, Options{Users: 5, NoLimits: true, NoAdmin: true})
	answer := func(path, auth string) (int, string) {
		resp, body := call(t, na, http.MethodGet, path, auth)
		return resp.StatusCode, string(body)
	}
	if code, _ := answer("/api/v1/org", "SSWS "+token); code != 403 {
		t.Errorf("no admin role: /api/v1/org answered %d, want 403", code)
	}
	if code, body := answer("/.well-known/okta-organization", ""); code != 200 || !strings.Contains(body, `"id":"00o`) {
		t.Errorf("no admin role: well-known answered %d %s", code, body)
	}
	if code, body := answer("/api/v1/users", "SSWS "+token); code != 200 || body != "[]" {
		t.Errorf("no admin role: users answered %d %s, want 200 []", code, body)
	}
}

// Okta's concurrency 429 reports 0 for Limit and Remaining, and a Reset
// that is only an estimate (rl-best-practices).
func TestConcurrencyAnswerReportsZeroes(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 10, Concurrency: 1, NoLimits: true})
	s.Inject(Fault{Path: "/api/v1/org", Times: 4, Delay: 300 * time.Millisecond})
	var mu sync.Mutex
	var seen []http.Header
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := call(t, ts, http.MethodGet, "/api/v1/org", "SSWS "+token)
			if resp.StatusCode == 429 {
				mu.Lock()
				seen = append(seen, resp.Header)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) == 0 {
		t.Fatal("no concurrency 429")
	}
	for _, h := range seen {
		if h.Get("X-Rate-Limit-Limit") != "0" || h.Get("X-Rate-Limit-Remaining") != "0" || h.Get("X-Rate-Limit-Reset") == "" {
			t.Errorf("concurrency 429 headers: %v", h)
		}
	}
}

// A storm spoils every Nth request with a 429 whose reset is announced
// ResetIn ahead; the requests between pass.
func TestStormEveryNth(t *testing.T) {
	t.Parallel()
	s, ts, fc := start(t, Options{Users: 10, NoLimits: true})
	s.Inject(Fault{Every: 5, Times: 3, Status: 429, ResetIn: 2 * time.Second})
	var codes []int
	for range 16 {
		resp, _ := call(t, ts, http.MethodGet, "/api/v1/users?limit=2", "SSWS "+token)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 {
			reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
			if want := fc.Now().Add(2 * time.Second).Unix(); reset != want {
				t.Errorf("reset %d, want %d (2 s ahead)", reset, want)
			}
		}
	}
	for i, c := range codes {
		want := 200
		if (i+1)%5 == 0 {
			want = 429
		}
		if c != want {
			t.Fatalf("codes %v: request %d answered %d", codes, i+1, c)
		}
	}
}

func TestListingFaults(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 50, NoLimits: true})
	next := func(h http.Header) string {
		for _, l := range h.Values("Link") {
			if strings.Contains(l, `rel="next"`) {
				return l[1:strings.Index(l, ">")]
			}
		}
		return ""
	}
	t.Run("endless next links are all new", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/v1/users", Times: 1 << 20, EndlessNext: true})
		seen := map[string]bool{}
		path := "/api/v1/users?limit=20"
		for range 6 {
			h, _ := ok(t, ts, path)
			n := next(h)
			if n == "" || seen[n] {
				t.Fatalf("next %q (seen before: %v)", n, seen[n])
			}
			seen[n] = true
			path = strings.TrimPrefix(n, ts.URL)
		}
		s.ClearFaults()
	})
	t.Run("no next ends the listing early", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/v1/users", NoNext: true})
		h, users := ok(t, ts, "/api/v1/users?limit=20")
		if len(users) != 20 || next(h) != "" {
			t.Errorf("%d users, next %q", len(users), next(h))
		}
	})
	t.Run("padded page", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/v1/users", Pad: 200_000})
		resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=5", "SSWS "+token)
		if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) || len(body) < 1_000_000 {
			t.Fatalf("Content-Length %s for %d bytes", got, len(body))
		}
		var users []map[string]any
		if err := json.Unmarshal(body, &users); err != nil || len(users) != 5 {
			t.Fatalf("%d users, %v", len(users), err)
		}
		for _, u := range users {
			if p, _ := u["x-padding"].(string); len(p) != 200_000 || u["id"] == nil {
				t.Errorf("user %v: padding %d", u["id"], len(p))
			}
		}
	})
}

// ResetIn without a status serves the page as usual, with headers that say
// the window is spent until far ahead: what a broken org or a proxy with a
// wrong clock sends.
func TestAbsurdResetOnANormalAnswer(t *testing.T) {
	t.Parallel()
	s, ts, fc := start(t, Options{Users: 10, NoLimits: true})
	s.Inject(Fault{Path: "/api/v1/users", ResetIn: 24 * 365 * time.Hour})
	for i, wantReset := range []time.Time{fc.Now().Add(24 * 365 * time.Hour), fc.Now().Truncate(time.Minute).Add(time.Minute)} {
		resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=2", "SSWS "+token)
		var users []map[string]any
		if err := json.Unmarshal(body, &users); err != nil || resp.StatusCode != 200 || len(users) != 2 {
			t.Fatalf("answer %d: %d, %d users, %v", i, resp.StatusCode, len(users), err)
		}
		reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
		if reset != wantReset.Unix() {
			t.Errorf("answer %d: reset %d, want %d", i, reset, wantReset.Unix())
		}
		if remaining := resp.Header.Get("X-Rate-Limit-Remaining"); (i == 0) != (remaining == "0") {
			t.Errorf("answer %d: remaining %s", i, remaining)
		}
	}
}

// A 429 can come without its Date or its X-Rate-Limit-Reset (okta-api.md
// §9 item 23), the rest of it as usual.
func TestA429WithoutDateOrReset(t *testing.T) {
	t.Parallel()
	s, ts, _ := start(t, Options{Users: 10, NoLimits: true})
	s.Inject(Fault{Path: "/api/v1/users", Status: 429, NoDate: true}, Fault{Path: "/api/v1/users", Status: 429, NoReset: true})
	for i, missing := range []string{"Date", "X-Rate-Limit-Reset"} {
		resp, body := call(t, ts, http.MethodGet, "/api/v1/users?limit=2", "SSWS "+token)
		if resp.StatusCode != 429 || !strings.Contains(string(body), "E0000047") {
			t.Fatalf("answer %d: %d %s", i, resp.StatusCode, body)
		}
		if _, ok := resp.Header[missing]; ok {
			t.Errorf("answer %d carries %s: %v", i, missing, resp.Header)
		}
		for _, h := range []string{"Date", "X-Rate-Limit-Reset", "X-Rate-Limit-Limit", "X-Rate-Limit-Remaining"} {
			if _, ok := resp.Header[h]; !ok && h != missing {
				t.Errorf("answer %d lacks %s", i, h)
			}
		}
	}
}

// ticking is a clock that moves on every reading, as a busy server's does
// between the steps of one request.
type ticking struct {
	mu  sync.Mutex
	now time.Time
}

func (c *ticking) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(7 * time.Second)
	return c.now
}

func (c *ticking) Sleep(context.Context, time.Duration) error { return nil }

// An answer's Date and its X-Rate-Limit-Reset come from one moment, the
// request's arrival, so the reset is never more than a window after the
// Date: a client that reads the window from them (okta-api.md §7.2) gets
// the window the request was counted in. Before, the Date was taken a step
// earlier than the window, and an answer whose steps straddled a minute
// said its window reset up to two minutes after its Date.
func TestDateAndResetAgree(t *testing.T) {
	t.Parallel()
	_, ts, _ := start(t, Options{Users: 10, Clock: &ticking{now: t0}})
	for i := range 30 {
		resp, _ := call(t, ts, http.MethodGet, "/api/v1/users?limit=2", "SSWS "+token)
		if resp.StatusCode != 200 {
			t.Fatalf("answer %d: %d", i, resp.StatusCode)
		}
		date, err := http.ParseTime(resp.Header.Get("Date"))
		reset, err2 := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
		if err != nil || err2 != nil {
			t.Fatalf("answer %d: Date %q, reset %q", i, resp.Header.Get("Date"), resp.Header.Get("X-Rate-Limit-Reset"))
		}
		if in := time.Unix(reset, 0).Sub(date); in <= 0 || in > time.Minute {
			t.Errorf("answer %d: Date %s, reset %s after it", i, date.Format(time.TimeOnly), in)
		}
	}
}
