package onelogintest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func tokenAnswer(t *testing.T, url string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/auth/oauth2/v2/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.SetBasicAuth("sim-client", "sim-secret")
	req.Header.Set("Content-Type", "application/json")
	_, body := do(t, req)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("token answer %s: %v", body, err)
	}
	return v
}

// The token answer names the account (onelogin-api.md §1.1); SetAccountID
// makes the same host answer as another.
func TestTokenNamesTheAccount(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Users: 3, AccountID: 189185})
	if v := tokenAnswer(t, ts.URL); v["account_id"] != float64(189185) {
		t.Fatalf("account_id %v", v["account_id"])
	}
	s.SetAccountID(42)
	if v := tokenAnswer(t, ts.URL); v["account_id"] != float64(42) {
		t.Fatalf("account_id after SetAccountID %v", v["account_id"])
	}
}

// Once the hourly budget is spent every call gets the load balancer's
// page, but /auth/rate_limit still says when the budget resets (unless
// RateLimitThrottled). v2 calls spend it here as older documents describe
// (SharedBudget); TestV2CallsDoNotSpendTheV1Budget has what was observed.
func TestRateLimitEndpointWhileThrottled(t *testing.T) {
	t.Parallel()
	for _, throttled := range []bool{false, true} {
		_, ts := start(t, Options{Users: 3, HourlyLimit: 3, SharedBudget: true, RateLimitThrottled: throttled})
		_, tok := token(t, ts, 0)
		for range 3 {
			get(t, ts, "/api/2/users?limit=1", "Bearer "+tok)
		}
		if resp, _ := get(t, ts, "/api/2/users?limit=1", "Bearer "+tok); resp.StatusCode != 429 {
			t.Fatalf("after the budget: %d", resp.StatusCode)
		}
		resp, body := get(t, ts, "/auth/rate_limit", "Bearer "+tok)
		if throttled {
			if resp.StatusCode != 429 {
				t.Errorf("throttled rate_limit answered %d", resp.StatusCode)
			}
			continue
		}
		var v struct {
			Data map[string]int `json:"data"`
		}
		if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("rate_limit: %d %s", resp.StatusCode, body)
		}
		if v.Data["X-RateLimit-Remaining"] != 0 || v.Data["X-RateLimit-Reset"] <= 0 || v.Data["X-RateLimit-Reset"] > 3600 {
			t.Errorf("rate_limit data %v", v.Data)
		}
	}
}

func TestListingFaults(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Users: 120, HourlyLimit: -1})
	_, tok := token(t, ts, 0)
	t.Run("storm", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/2/users", Every: 3, Times: 2, Status: 429})
		var codes []int
		for range 7 {
			resp, _ := get(t, ts, "/api/2/users?limit=1", "Bearer "+tok)
			codes = append(codes, resp.StatusCode)
		}
		want := []int{200, 200, 429, 200, 200, 429, 200}
		for i := range want {
			if codes[i] != want[i] {
				t.Fatalf("codes %v, want %v", codes, want)
			}
		}
	})
	t.Run("endless cursor", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/2/users", Times: 1 << 20, EndlessCursor: true})
		defer s.ClearFaults()
		seen := map[string]bool{}
		path := "/api/2/users?limit=50"
		for range 6 { // 120 users: three real pages, then more
			resp, _ := get(t, ts, path, "Bearer "+tok)
			next := resp.Header.Get("After-Cursor")
			if resp.StatusCode != 200 || next == "" || seen[next] {
				t.Fatalf("%d, After-Cursor %q (seen: %v)", resp.StatusCode, next, seen[next])
			}
			seen[next] = true
			path = "/api/2/users?cursor=" + next
		}
	})
	t.Run("no next", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/2/users", NoNext: true})
		resp, _ := get(t, ts, "/api/2/users?limit=50", "Bearer "+tok)
		if resp.Header.Get("After-Cursor") != "" || resp.Header.Get("Total-Count") != "120" {
			t.Errorf("After-Cursor %q, Total-Count %q", resp.Header.Get("After-Cursor"), resp.Header.Get("Total-Count"))
		}
	})
	t.Run("padded page", func(t *testing.T) {
		s.Inject(Fault{Path: "/api/2/users", Pad: 300_000})
		resp, body := get(t, ts, "/api/2/users?limit=4", "Bearer "+tok)
		if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("Content-Length %s for %d bytes", resp.Header.Get("Content-Length"), len(body))
		}
		var users []map[string]any
		if err := json.Unmarshal(body, &users); err != nil || len(users) != 4 {
			t.Fatalf("%d users: %v", len(users), err)
		}
		for _, u := range users {
			if p, _ := u["x-padding"].(string); len(p) != 300_000 {
				t.Errorf("padding %d", len(p))
			}
		}
	})
}

// A 429's Retry-After can be written as given, and GET /auth/rate_limit
// can announce a countdown beyond OneLogin's hour: broken answers a client
// must survive.
func TestAbsurdWaitsOnDemand(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Users: 3, HourlyLimit: -1})
	_, tok := token(t, ts, 0)
	s.Inject(Fault{Path: "/api/2/users", Status: 429, RawRetryAfter: "99999999999"})
	if resp, _ := get(t, ts, "/api/2/users?limit=1", "Bearer "+tok); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "99999999999" {
		t.Errorf("429: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.Inject(Fault{Path: "/auth/rate_limit", ResetIn: 1000 * time.Hour})
	_, body := get(t, ts, "/auth/rate_limit", "Bearer "+tok)
	var v struct {
		Data map[string]int `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Data["X-RateLimit-Remaining"] != 0 || v.Data["X-RateLimit-Reset"] != 3_600_000 {
		t.Errorf("rate_limit %s: %v", body, err)
	}
}

// What OneLogin was observed to do (onelogin-api.md §7.2, checklist 18-19):
// v2 calls and token requests leave the v1 budget alone, which v1 answers
// and GET /auth/rate_limit report; v2 calls carry no rate headers and meet
// a throttle of their own, whose 429 is the same load balancer's page while
// the v1 budget is still full.
func TestV2CallsDoNotSpendTheV1Budget(t *testing.T) {
	t.Parallel()
	_, ts := start(t, Options{Users: 3, HourlyLimit: 10, V2Limit: 4})
	budget := func() map[string]int {
		t.Helper()
		_, tok := token(t, ts, 0)
		resp, body := get(t, ts, "/auth/rate_limit", "Bearer "+tok)
		var v struct {
			Data map[string]int `json:"data"`
		}
		if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("rate_limit: %d %s", resp.StatusCode, body)
		}
		return v.Data
	}
	_, tok := token(t, ts, 0)
	for i := range 4 {
		resp, _ := get(t, ts, "/api/2/users?limit=1", "Bearer "+tok)
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "" {
			t.Fatalf("v2 call %d: %d %v", i+1, resp.StatusCode, resp.Header)
		}
	}
	resp, body := get(t, ts, "/api/2/users?limit=1", "Bearer "+tok)
	if resp.StatusCode != 429 || !strings.HasPrefix(string(body), "<html>") || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("past the v2 throttle: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if b := budget(); b["X-RateLimit-Limit"] != 10 || b["X-RateLimit-Remaining"] != 10 {
		t.Errorf("after five v2 calls and two tokens the v1 budget says %v, want all 10 left", b)
	}
	resp, _ = get(t, ts, "/api/1/events?limit=1", "Bearer "+tok)
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "9" || resp.Header.Get("X-RateLimit-Limit") != "10" {
		t.Errorf("a v1 call: %d, headers %v", resp.StatusCode, resp.Header)
	}
	if b := budget(); b["X-RateLimit-Remaining"] != 9 {
		t.Errorf("after one v1 call the budget says %v", b)
	}
}
