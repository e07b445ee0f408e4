package okta

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/secret"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

type fixture struct {
	sim    *oktatest.Server
	srv    *httptest.Server
	clock  *clock.Fake
	client *Client
	logs   *bytes.Buffer
}

func newFixture(t testing.TB, so oktatest.Options, co Options) *fixture {
	t.Helper()
	fc := clock.NewFake(t0)
	if so.Clock == nil {
		so.Clock = fc
	}
	so.Token = "00Sim-Token-Distinctive-7f3e"
	sim := oktatest.New(so)
	srv := sim.Start()
	t.Cleanup(srv.Close)
	logs := &bytes.Buffer{}
	co.BaseURL = srv.URL
	co.Token = secret.New([]byte(so.Token))
	if co.Clock == nil {
		co.Clock = fc
	}
	co.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(co)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, srv: srv, clock: fc, client: c, logs: logs}
}

// pass runs one Fetch and returns the users by ID and the cursor.
func (f *fixture) pass(t testing.TB, mode engine.Mode, cursor []byte, statuses ...string) (map[string]engine.User, []byte, error) {
	t.Helper()
	got := map[string]engine.User{}
	var dup []string
	cur, err := f.client.Fetch(context.Background(), engine.FetchRequest{Mode: mode, Cursor: cursor, Statuses: statuses},
		func(users []engine.User) error {
			for _, u := range users {
				if _, seen := got[u.ID]; seen {
					dup = append(dup, u.ID)
				}
				got[u.ID] = u
			}
			return nil
		})
	if len(dup) > 0 && mode == engine.Full {
		t.Errorf("users returned twice in one full pass: %v", dup[:min(5, len(dup))])
	}
	return got, cur, err
}

func keys(m map[string]engine.User) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every selected user once, in pages of any size, whether the org lists by
// ID or in no order (Okta guarantees none, okta-api.md §2.4).
func TestEveryUserExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 199, 200, 201, 2500} {
		for _, size := range []int{7, 200} {
			for _, unordered := range []bool{false, true} {
				t.Run(fmt.Sprintf("users=%d/page=%d/unordered=%t", n, size, unordered), func(t *testing.T) {
					f := newFixture(t, oktatest.Options{Users: n, Seed: uint64(n), NoLimits: true, Ordered: !unordered}, Options{PageSize: size})
					statuses := []string{"ACTIVE", "SUSPENDED", "DEPROVISIONED"}
					got, cur, err := f.pass(t, engine.Full, nil, statuses...)
					if err != nil {
						t.Fatal(err)
					}
					want := f.sim.IDs(statuses...)
					sort.Strings(want)
					if !slices.Equal(keys(got), want) {
						t.Fatalf("got %d users, want %d", len(got), len(want))
					}
					for _, u := range got {
						if !slices.Contains(statuses, u.Status) {
							t.Fatalf("user %s has unselected status %s", u.ID, u.Status)
						}
					}
					if len(cur) == 0 {
						t.Fatal("a complete pass returned no cursor")
					}
				})
			}
		}
	}
}

func TestDefaultListingHidesDeprovisionedButFilterDoesNot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 400, NoLimits: true}, Options{})
	got, _, err := f.pass(t, engine.Full, nil, "DEPROVISIONED")
	if err != nil || len(got) == 0 || len(got) != len(f.sim.IDs("DEPROVISIONED")) {
		t.Fatalf("DEPROVISIONED pass: %d users, %v", len(got), err)
	}
	resp := get(t, f, "/api/v1/users?limit=200&after="+f.sim.UserID(0))
	var listed []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&listed)
	_ = resp.Body.Close()
	for _, u := range listed {
		if u["status"] == "DEPROVISIONED" {
			t.Fatal("the default listing returned a DEPROVISIONED user")
		}
	}
}

func get(t testing.TB, f *fixture, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	req.Header.Set("Authorization", "SSWS 00Sim-Token-Distinctive-7f3e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestIncrementalSeesEveryChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 8000, Seed: 3, NoLimits: true}, Options{})
	selected := []string{"ACTIVE"}
	full, cur, err := f.pass(t, engine.Full, nil, selected...)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	active := f.sim.IDs("ACTIVE")
	// Several changes in the same second, a status change away from the
	// selection, an edit, a deactivation, and a new user.
	edited, suspended, deactivated := active[10], active[20], active[30]
	if err := f.sim.EditProfile(edited, map[string]any{"title": "Chief Tester", "mobilePhone": nil}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetStatus(suspended, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Deactivate(deactivated); err != nil {
		t.Fatal(err)
	}
	added := f.sim.AddUser(map[string]any{"login": "new@example.com", "email": "new@example.com", "firstName": "Nova", "lastName": "Neu"}, "ACTIVE")
	f.clock.Advance(10 * time.Minute)

	inc, cur2, err := f.pass(t, engine.Incremental, cur, selected...)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{edited: "ACTIVE", suspended: "SUSPENDED", deactivated: "DEPROVISIONED", added: "ACTIVE"} {
		u, ok := inc[id]
		if !ok {
			t.Errorf("incremental pass missed changed user %s", id)
			continue
		}
		if u.Status != want {
			t.Errorf("user %s status %s, want %s", id, u.Status, want)
		}
	}
	if p := inc[edited].Raw["profile"].(map[string]any); p["title"] != "Chief Tester" || p["mobilePhone"] != nil {
		t.Errorf("edit not seen: %v", p["title"])
	}
	if len(inc) >= len(full)/2 {
		t.Errorf("incremental pass returned %d users of %d: it is not incremental", len(inc), len(full))
	}
	if w1, w2 := watermark(t, cur), watermark(t, cur2); !w2.After(w1) {
		t.Errorf("watermark did not move forward: %v then %v", w1, w2)
	}
	// Nothing changed since: the next pass still re-reads the overlap, but
	// only that.
	again, cur3, err := f.pass(t, engine.Incremental, cur2, selected...)
	if err != nil || watermark(t, cur3).Before(watermark(t, cur2)) {
		t.Fatalf("third pass: %v, watermark went back", err)
	}
	if _, ok := again[edited]; !ok {
		t.Error("a change inside the overlap window was not read again")
	}
}

func watermark(t testing.TB, cur []byte) time.Time {
	t.Helper()
	var c cursor
	if err := json.Unmarshal(cur, &c); err != nil {
		t.Fatal(err)
	}
	return c.Watermark
}

func TestChangesDuringAPassAreNotLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 1000, NoLimits: true}, Options{PageSize: 50})
	active := f.sim.IDs("ACTIVE")
	early := active[0] // on the first page: read before it changes
	var pages int
	cur, err := f.client.Fetch(context.Background(), engine.FetchRequest{Mode: engine.Full, Statuses: []string{"ACTIVE"}},
		func([]engine.User) error {
			pages++
			if pages == 3 {
				f.clock.Advance(20 * time.Minute) // a long pass
				if err := f.sim.EditProfile(early, map[string]any{"title": "Changed mid-pass"}); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	inc, _, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := inc[early]; !ok || u.Raw["profile"].(map[string]any)["title"] != "Changed mid-pass" {
		t.Fatal("a user changed after its page was read was not seen by the next incremental pass")
	}
}

func TestWatermarkOnlyAfterACompletePass(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 1000, NoLimits: true}, Options{PageSize: 100, MaxRetries: 2})
	_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	for _, id := range f.sim.IDs("ACTIVE")[:5] {
		_ = f.sim.EditProfile(id, map[string]any{"title": "x"})
	}
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 10, Status: 503})
	_, cur2, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err == nil || cur2 != nil {
		t.Fatalf("a failed pass returned cursor %s, err %v", cur2, err)
	}
	if !errors.Is(err, fault.ErrTransient) || !strings.Contains(err.Error(), "gave up after 3 failed attempts") {
		t.Errorf("err = %v", err)
	}
}

func TestFaultsEndInARetryOrACleanError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault oktatest.Fault
		ok    bool // the pass succeeds after retrying
		class error
	}{
		{"500 once", oktatest.Fault{Path: "/api/v1/users", Skip: 1, Status: 500}, true, nil},
		{"503 burst", oktatest.Fault{Path: "/api/v1/users", Times: 3, Status: 503}, true, nil},
		{"429 burst", oktatest.Fault{Path: "/api/v1/users", Times: 2, Status: 429}, true, nil},
		{"truncated body", oktatest.Fault{Path: "/api/v1/users", Skip: 1, Truncate: true}, true, nil},
		{"invalid JSON", oktatest.Fault{Path: "/api/v1/users", InvalidJSON: true}, true, nil},
		{"gzip stream cut", oktatest.Fault{Path: "/api/v1/users", Skip: 1, BadGzip: true}, true, nil},
		{"gzip streams cut", oktatest.Fault{Path: "/api/v1/users", Times: 50, BadGzip: true}, false, fault.ErrTransient},
		{"connection reset", oktatest.Fault{Path: "/api/v1/users", Reset: true}, true, nil},
		{"timeout", oktatest.Fault{Path: "/api/v1/users", Delay: 2 * time.Second}, true, nil},
		{"5xx storm", oktatest.Fault{Path: "/api/v1/users", Times: 50, Status: 500}, false, fault.ErrTransient},
		{"pagination loop", oktatest.Fault{Path: "/api/v1/users", Skip: 1, LoopNext: true}, false, fault.ErrTransient},
		{"token revoked mid-run", oktatest.Fault{Path: "/api/v1/users", Skip: 2, Status: 401}, false, fault.ErrConfig},
		{"bad request", oktatest.Fault{Path: "/api/v1/users", Skip: 1, Status: 400}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A short timeout only where the fault is a slow answer: elsewhere a
			// loaded machine (the race detector) could time a request out, and
			// its retry would not meet the fault. Even there it applies to every
			// request, so it is kept well above what a loaded machine takes for
			// a page (100 ms failed a sweep's page five times in a row once).
			timeout := 10 * time.Second
			if tc.fault.Delay > 0 {
				timeout = 500 * time.Millisecond
			}
			f := newFixture(t, oktatest.Options{Users: 1200, NoLimits: true}, Options{PageSize: 100, Timeout: timeout, MaxRetries: 4})
			f.sim.Inject(tc.fault)
			got, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
			if tc.ok {
				if err != nil {
					t.Fatalf("the pass failed: %v", err)
				}
				if len(got) != len(f.sim.IDs("ACTIVE")) || cur == nil {
					t.Fatalf("a retried pass returned %d users of %d", len(got), len(f.sim.IDs("ACTIVE")))
				}
				if f.sim.PendingFaults() != 0 {
					t.Error("the fault never fired")
				}
				// Go's transport itself retries a GET whose reused connection
				// was reset before any answer; every other fault is ours to retry.
				if f.client.Stats().Retries == 0 && !tc.fault.Reset {
					t.Error("no retry was counted")
				}
				return
			}
			if err == nil || cur != nil {
				t.Fatalf("the pass should fail cleanly: err %v, cursor %s", err, cur)
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("err %v is not %v", err, tc.class)
			}
			if strings.Contains(err.Error(), "00Sim-Token") || strings.Contains(f.logs.String(), "00Sim-Token") {
				t.Error("the token leaked into an error or a log line")
			}
		})
	}
}

// TestPagesArriveCompressed: Okta gzips its answers for a client that asks,
// and the client asks, so a full pass's pages cross the wire compressed.
func TestPagesArriveCompressed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
	got, _, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil || len(got) != len(f.sim.IDs("ACTIVE")) {
		t.Fatalf("got %d users, err %v", len(got), err)
	}
	pages := 0
	for _, r := range f.sim.Requests() {
		if strings.HasPrefix(r.URL, "/api/v1/users") {
			pages++
			if !r.Gzip {
				t.Errorf("%s was answered uncompressed", r.URL)
			}
		}
	}
	if pages == 0 {
		t.Fatal("no users page was read")
	}
}

func TestStrayNextOnTheLastPageEndsTheListing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 250, NoLimits: true}, Options{PageSize: 100})
	// The third page of ACTIVE users is short; a next link back to it must
	// end the listing, not fail it.
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Skip: 2, LoopNext: true})
	got, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil || cur == nil || len(got) != len(f.sim.IDs("ACTIVE")) {
		t.Fatalf("got %d users, err %v", len(got), err)
	}
}

func Test429WaitsUntilTheReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
	f.clock.Advance(17 * time.Second) // 43 s before the window resets
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Status: 429})
	start := f.clock.Now()
	if _, _, err := f.pass(t, engine.Full, nil, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	reqs := f.sim.Requests()
	var first429 time.Time
	for i, r := range reqs {
		if r.Status == 429 {
			first429 = r.Time
			// The retry is the next request to the same bucket: the apps
			// and devices sweep runs beside the listing.
			var next oktatest.Request
			for _, n := range reqs[i+1:] {
				if n.Bucket == r.Bucket {
					next = n
					break
				}
			}
			reset := r.Time.Truncate(time.Minute).Add(time.Minute)
			if next.Time.Before(reset) {
				t.Fatalf("retried at %v, before the reset at %v", next.Time, reset)
			}
			if next.RetryFor == "" || next.RetryCount != "1" {
				t.Errorf("retry headers: for %q count %q", next.RetryFor, next.RetryCount)
			}
		}
	}
	if first429.IsZero() || f.clock.Now().Sub(start) < 43*time.Second {
		t.Fatalf("waited %v for a window 43 s from its reset", f.clock.Now().Sub(start))
	}
	if s := f.client.Stats(); s.RateLimitWaits == 0 || s.RateLimitWait < 43*time.Second {
		t.Errorf("stats %+v", s)
	}
}

func TestNoRequestIntoAnExhaustedWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 4000, TokenShare: 1, Limits: map[string]int{"users": 12, "apps": 5, "devices": 5, "other": 10}},
		Options{PageSize: 100, RateShare: 100})
	got, _, err := f.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(f.sim.IDs("ACTIVE", "SUSPENDED")) {
		t.Fatal("incomplete pass")
	}
	if n := f.sim.Statuses()[429]; n != 0 {
		t.Fatalf("%d requests went into an exhausted window (429)", n)
	}
	if f.client.Stats().RateLimitWaits == 0 {
		t.Error("a listing over several windows never waited")
	}
}

func TestRateShareIsNeverExceeded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 20000, NoLimits: false}, Options{PageSize: 20, RateShare: 30})
	if _, _, err := f.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED", "STAGED"); err != nil {
		t.Fatal(err)
	}
	for bucket, most := range f.sim.MaxTokenShare() {
		budget := f.sim.Limit(bucket) * 30 / 100
		if most > budget {
			t.Errorf("bucket %s: %d requests in one window, share allows %d", bucket, most, budget)
		}
	}
	if users := f.sim.MaxTokenShare()["users"]; users < f.sim.Limit("users")*30/100*9/10 {
		t.Errorf("the users bucket peaked at %d per window: pacing leaves most of the share unused", users)
	}
	if n := f.sim.Statuses()[429]; n != 0 {
		t.Errorf("%d 429s", n)
	}
}

func TestCallsGrowWithPagesNotUsers(t *testing.T) {
	t.Parallel()
	calls := func(n int) map[string]int {
		f := newFixture(t, oktatest.Options{Users: n, Seed: 9, NoLimits: true}, Options{})
		if _, _, err := f.pass(t, engine.Full, nil, "ACTIVE"); err != nil {
			t.Fatal(err)
		}
		active := len(f.sim.IDs("ACTIVE"))
		c := f.sim.Calls()
		if c["users"] > active/200+2 {
			t.Errorf("%d users: %d user pages for %d active users", n, c["users"], active)
		}
		if c["other"] != 0 || c["user"] != 0 {
			t.Errorf("%d users: per-user calls in a full pass: %v", n, c)
		}
		return c
	}
	small, large := calls(1000), calls(8000)
	total := func(c map[string]int) int { return c["users"] + c["apps"] + c["devices"] }
	if total(large) > 8*total(small) || total(large) > 8000/50 {
		t.Errorf("calls: %v for 1000 users, %v for 8000", small, large)
	}
}

func TestAppsAndDevices(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{})
	full, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	withDevices, withApps := 0, 0
	for _, u := range full {
		if d, _ := u.Raw["devices"].([]any); len(d) > 0 {
			withDevices++
		}
		links, _ := u.Raw["appLinks"].([]any)
		if len(links) > 0 {
			withApps++
		}
		if len(links) == 0 || links[0].(map[string]any)["label"] != "Google Workspace" {
			t.Fatalf("user %s: every active user has the Everyone group's app first: %v", u.ID, links)
		}
	}
	if withDevices == 0 || withApps != len(full) {
		t.Errorf("%d of %d users with devices, %d with apps", withDevices, len(full), withApps)
	}
	// The same user read by an incremental pass carries the same apps and
	// devices, so an unchanged user maps to an unchanged record.
	id := keys(full)[3]
	f.clock.Advance(time.Hour)
	if err := f.sim.EditProfile(id, map[string]any{"nickName": "x"}); err != nil {
		t.Fatal(err)
	}
	inc, _, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal([]any{full[id].Raw["appLinks"], full[id].Raw["devices"]})
	b, _ := json.Marshal([]any{inc[id].Raw["appLinks"], inc[id].Raw["devices"]})
	if !bytes.Equal(a, b) {
		t.Errorf("full and incremental passes disagree:\n%s\n%s", a, b)
	}
}

func TestClassicOrgDegradesWithAWarning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, Classic: true, NoLimits: true}, Options{})
	full, _, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	// No devices API: a user's phones and tablets come from its Okta
	// Verify factors, without OS versions, and computers not at all.
	phones := 0
	for _, u := range full {
		list, _ := u.Raw["devices"].([]any)
		for _, d := range list {
			p := d.(map[string]any)["profile"].(map[string]any)
			if (p["platform"] != "IOS" && p["platform"] != "ANDROID") || p["osVersion"] != "" || p["displayName"] == "" {
				t.Fatalf("user %s: a device from factors reads %v", u.ID, p)
			}
			phones++
		}
	}
	if phones == 0 {
		t.Error("no user has a phone from its factors")
	}
	if w := f.client.Stats().Warnings; len(w) != 1 || !strings.Contains(w[0], "Identity Engine") || !strings.Contains(w[0], "Okta Verify factors") {
		t.Errorf("warnings %q", w)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 10, NoLimits: true}, Options{})
	msg, err := f.client.Check(context.Background(), nil)
	if err != nil || !strings.HasSuffix(msg, "accepted the API token and can read users") {
		t.Fatalf("Check = %q, %v", msg, err)
	}
	// A Classic Engine org has no devices API: said before the first run.
	classic := newFixture(t, oktatest.Options{Users: 10, NoLimits: true, Classic: true}, Options{})
	msg, err = classic.client.Check(context.Background(), nil)
	if err != nil || !strings.Contains(msg, "can read users; but its devices API answers HTTP 404 (a Classic Engine org has none") {
		t.Errorf("Classic: %q, %v", msg, err)
	}
	// A token whose admin may not read the System Log: incremental runs
	// then see no assignments or deletions there.
	noLogs := newFixture(t, oktatest.Options{Users: 10, NoLimits: true, NoLogs: true}, Options{})
	msg, err = noLogs.client.Check(context.Background(), nil)
	if err != nil || !strings.Contains(msg, "can read users; but its System Log answers HTTP 403 (the API token may not read it), "+
		"so incremental runs cannot see app assignments") {
		t.Errorf("no logs: %q, %v", msg, err)
	}
	bad, _ := New(Options{BaseURL: f.srv.URL, Token: secret.New([]byte("wrong-token-123")), Clock: f.clock})
	if _, err := bad.Check(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "okta rejected the API token (HTTP 401 E0000011") ||
		!strings.Contains(err.Error(), "Okta revokes a token unused for 30 days") || !errors.Is(err, fault.ErrConfig) ||
		strings.Contains(err.Error(), "wrong-token-123") {
		t.Errorf("bad token: %v", err)
	}
	noAdmin := newFixture(t, oktatest.Options{Users: 10, NoAdmin: true, NoLimits: true}, Options{})
	if _, err := noAdmin.client.Check(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "lacks an admin role") {
		t.Errorf("no admin role: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	down, _ := New(Options{BaseURL: closed.URL, Token: secret.New([]byte("t")), Clock: f.clock, MaxRetries: 1})
	if _, err := down.Check(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "connection was refused") {
		t.Errorf("refused: %v", err)
	}
}

func TestHTTPSAndTrust(t *testing.T) {
	t.Parallel()
	fc := clock.NewFake(t0)
	sim := oktatest.New(oktatest.Options{Users: 50, Token: "tok", Clock: fc, NoLimits: true})
	srv, pool := sim.StartTLS()
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("tok")), Clock: fc, RootCAs: pool})
	if _, err := c.Check(context.Background(), nil); err != nil {
		t.Fatalf("https with the simulator's CA: %v", err)
	}
	untrusted, _ := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("tok")), Clock: fc, MaxRetries: 1})
	_, err := untrusted.Check(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "not trusted") || !errors.Is(err, fault.ErrConfig) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if _, err := New(Options{BaseURL: "http://acme.okta.com", Token: secret.New([]byte("t"))}); err == nil {
		t.Error("plain http to a public host was accepted")
	}
}

func TestRedirectsNeverCarryTheToken(t *testing.T) {
	t.Parallel()
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("Authorization")
		_, _ = w.Write([]byte("[]"))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/v1/org", http.StatusFound)
	}))
	defer redirector.Close()
	c, _ := New(Options{BaseURL: redirector.URL, Token: secret.New([]byte("secret-tok")), Clock: clock.NewFake(t0)})
	if _, err := c.Check(context.Background(), nil); err == nil || !errors.Is(err, fault.ErrConfig) {
		t.Fatalf("a redirect to another host: %v", err)
	}
	if leaked != "" {
		t.Fatalf("the other host received Authorization %q", leaked)
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("Link", `<https://a.okta.com/api/v1/users?limit=2>; rel="self"`)
	h.Add("Link", `<https://a.okta.com/api/v1/users?after=00u2&limit=2>; rel="next"`)
	if got := nextLink(h); got != "https://a.okta.com/api/v1/users?after=00u2&limit=2" {
		t.Errorf("separate lines: %q", got)
	}
	h = http.Header{"Link": {`<https://a/x?filter=a,b>; rel="self", <https://a/x?after=9&filter=a,b>; rel="next"`}}
	if got := nextLink(h); got != "https://a/x?after=9&filter=a,b" {
		t.Errorf("combined: %q", got)
	}
	h = http.Header{"Link": {`<https://a/x>; rel="self"`}}
	if got := nextLink(h); got != "" {
		t.Errorf("no next: %q", got)
	}
}

func TestIncrementalLeavesOverlapUsersPartial(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 2000, NoLimits: true}, Options{})
	_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	changed := f.sim.IDs("ACTIVE")[7]
	_ = f.sim.EditProfile(changed, map[string]any{"title": "New"})
	before := f.sim.Calls()["other"]
	inc, _, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	var partial []engine.User
	enriched := 0
	w := watermark(t, cur)
	for id, u := range inc {
		lu, _ := f.sim.LastUpdated(id)
		switch {
		case id == changed && (u.Partial || u.Raw["appLinks"] == nil):
			t.Fatalf("the changed user came partial or without apps: %+v", u.Raw["appLinks"])
		case lu.Before(w) && !u.Partial:
			t.Fatalf("user %s, unchanged since the watermark and read only through the overlap, was enriched", id)
		case u.Partial:
			partial = append(partial, u)
		default:
			enriched++ // changed at or after the watermark (users the full pass did not select, say)
		}
	}
	if len(partial) == 0 {
		t.Fatal("no user came through the overlap; the test needs some")
	}
	// Two calls (apps, devices) per enriched user, and one lookup per app.
	if calls := f.sim.Calls()["other"] - before; calls > 2*enriched+12 {
		t.Errorf("%d per-user calls for %d enriched users", calls, enriched)
	}
	if err := f.client.Complete(context.Background(), partial[:1]); err != nil {
		t.Fatal(err)
	}
	if partial[0].Raw["appLinks"] == nil || partial[0].Raw["devices"] == nil {
		t.Error("Complete did not add apps and devices")
	}
}

// A full pass lists users while a sweep held up by rate limits runs: pages
// that arrive first wait in a spool file and reach the engine, with their
// apps and devices, once the sweep is done; nothing is left in the spool
// folder.
func TestFullPassListsUsersWhileTheSweepRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Two apps calls a minute (one for this token): the sweep waits a minute
	// per call on the fake clock, and the delays keep it busy in real time.
	// A request out counts in each new window, so while one is delayed the
	// next apps call sleeps window after window on the fake clock, which
	// may run months ahead on a slow machine (it did under Wine): the
	// token must not lapse meanwhile.
	slow := newFixture(t, oktatest.Options{Users: 700, Seed: 5, TokenIdle: -1, Limits: map[string]int{"apps": 2, "users": 600, "devices": 600}},
		Options{PageSize: 100, SpoolDir: dir})
	slow.sim.Inject(oktatest.Fault{Path: "/api/v1/apps", Skip: 2, Delay: 200 * time.Millisecond, Times: 3})
	got, cur, err := slow.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED")
	if err != nil || cur == nil {
		t.Fatal(err)
	}
	fast := newFixture(t, oktatest.Options{Users: 700, Seed: 5, NoLimits: true}, Options{PageSize: 100})
	want, _, err := fast.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%d users with a slow sweep, %d without", len(got), len(want))
	}
	withApps := 0
	for id, w := range want {
		g := got[id]
		if apps, _ := g.Raw["appLinks"].([]any); len(apps) > 0 {
			withApps++
		}
		if fmt.Sprint(g.Raw["appLinks"], g.Raw["devices"], g.Raw["profile"]) != fmt.Sprint(w.Raw["appLinks"], w.Raw["devices"], w.Raw["profile"]) {
			t.Fatalf("user %s differs when spooled:\n%v\n%v", id, g.Raw, w.Raw)
		}
	}
	if withApps == 0 {
		t.Fatal("no spooled user has apps: the comparison proves nothing")
	}
	// The listing ran beside the slow sweep: its last page was requested
	// before the sweep's last request (the log is in arrival order).
	lastUsers, lastApps := -1, -1
	for i, r := range slow.sim.Requests() {
		switch r.Bucket {
		case "users":
			lastUsers = i
		case "apps":
			lastApps = i
		}
	}
	if lastUsers > lastApps {
		t.Errorf("the listing's last request (#%d) came after the sweep's (#%d): it did not run beside it", lastUsers, lastApps)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left in the spool folder", len(left))
	}
}

// Without rate limits holding the sweep up, the listing waits for it rather
// than spooling: encoding every page twice would cost more than it saves.
func TestFullPassSpoolsOnlyWhenRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100, SpoolDir: t.TempDir()})
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/apps", Delay: 100 * time.Millisecond})
	if _, _, err := f.pass(t, engine.Full, nil, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	firstUsers, lastSweep := -1, -1
	for i, r := range f.sim.Requests() {
		switch {
		case r.Bucket == "users" && firstUsers < 0:
			firstUsers = i
		case r.Bucket == "apps" || r.Bucket == "devices":
			lastSweep = i
		}
	}
	if firstUsers < lastSweep {
		t.Errorf("the listing began (#%d) before the unthrottled sweep ended (#%d)", firstUsers, lastSweep)
	}
}

// A pass decodes of each listed user only the fields the engine asks for
// and those the client reads itself; without a list it keeps every field.
// Full and incremental passes alike, the kept fields as the API sent them.
func TestPassDecodesOnlyTheFieldsAsked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 120, NoLimits: true}, Options{PageSize: 50})
	all, _, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil || len(all) == 0 {
		t.Fatal(len(all), err)
	}
	for _, u := range all {
		if u.Raw["_links"] == nil || u.Raw["realmId"] == nil {
			t.Fatalf("no field list, yet %s lacks _links or realmId: %v", u.ID, u.Raw)
		}
	}
	for _, mode := range []engine.Mode{engine.Full, engine.Incremental} {
		var cursor []byte
		if mode == engine.Incremental {
			cursor = initialCursor()
		}
		got := map[string]engine.User{}
		_, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: mode, Cursor: cursor, Statuses: []string{"ACTIVE"}, Fields: []string{"type", "created", "appLinks", "devices"}},
			func(users []engine.User) error {
				for _, u := range users {
					got[u.ID] = u
				}
				return nil
			})
		if err != nil || len(got) < len(all) {
			t.Fatalf("%s: %d users (want %d), %v", mode, len(got), len(all), err)
		}
		for id, u := range got {
			if _, selected := all[id]; !selected {
				continue // an incremental pass's other statuses
			}
			want := map[string]any{}
			for _, k := range []string{"id", "status", "lastUpdated", "profile", "type", "created", "appLinks", "devices"} {
				if v, ok := all[id].Raw[k]; ok {
					want[k] = v
				}
			}
			if !reflect.DeepEqual(u.Raw, want) {
				t.Fatalf("%s: user %s decoded as\n%v\nwant\n%v", mode, id, u.Raw, want)
			}
		}
	}
}

// A mapping that reads no apps or devices costs no call to their APIs, in
// full and incremental passes alike, and no warning: the users carry
// neither, and their states say they know nothing of them (the full run
// that a mapping change brings reads them again).
func TestUnreadAppsAndDevicesAreNotCalled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 150, NoLimits: true, Spread: 30 * 24 * time.Hour}, Options{PageSize: 50})
	fields := []string{"profile", "status"}
	fetch := func(mode engine.Mode, cursor []byte) ([]engine.User, []byte) {
		t.Helper()
		var got []engine.User
		cur, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: mode, Cursor: cursor, Statuses: []string{"ACTIVE"}, Fields: fields},
			func(users []engine.User) error {
				got = append(got, users...)
				return nil
			})
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: %d users, %v", mode, len(got), err)
		}
		return got, cur
	}
	full, cur := fetch(engine.Full, nil)
	ids := f.sim.IDs("ACTIVE")
	if err := f.sim.Assign(ids[0], 3); err != nil { // an app assignment the System Log tells
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if err := f.sim.EditProfile(ids[1], map[string]any{"title": "Changed"}); err != nil {
		t.Fatal(err)
	}
	inc, _ := fetch(engine.Incremental, cur)
	for _, r := range f.sim.Requests() {
		if strings.HasPrefix(r.URL, "/api/v1/apps") || strings.HasPrefix(r.URL, "/api/v1/devices") ||
			strings.Contains(r.URL, "/appLinks") || strings.Contains(r.URL, "/devices") {
			t.Errorf("%s was called, though the mapping reads no apps or devices", r.URL)
		}
		if strings.HasPrefix(r.URL, "/api/v1/users/"+ids[0]) {
			t.Errorf("%s: the user the log names only for an app assignment was read", r.URL)
		}
	}
	for _, u := range append(full, inc...) {
		if _, ok := u.Raw["appLinks"]; ok {
			t.Fatalf("user %s carries appLinks", u.ID)
		}
		if _, ok := u.Raw["devices"]; ok {
			t.Fatalf("user %s carries devices", u.ID)
		}
	}
	if s, ok := newNumbering(nil, nil).decode(full[0].State); !ok || !s.NoApps || !s.NoDevices {
		t.Errorf("state %+v (%v): it must say it knows no apps or devices", s, ok)
	}
	if w := f.client.Stats().Warnings; len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
}

// A full pass keeps its connections: over HTTP/1.1 (a server or proxy
// without HTTP/2, and the simulator by default) as many as it has requests
// in flight, each reused, not a new TCP and TLS handshake every few calls
// (the transport kept two idle connections per host while four requests
// ran, and closed the others as they came back: 7 to 17 connections here,
// 119 in a 100,000-user run); over HTTP/2 all of them share one.
//
// Not parallel: fifteen thousand users under the race detector would starve
// the tests that time requests out.
func TestConnectionsAreReused(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			users := 15000 // enough calls for the churn to show every time
			if h2 {
				users = 3000
			}
			fc := clock.NewFake(t0)
			sim := oktatest.New(oktatest.Options{Users: users, Token: "tok", Clock: fc, NoLimits: true})
			srv := httptest.NewUnstartedServer(sim)
			srv.EnableHTTP2 = h2
			var conns atomic.Int64
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			c, err := New(Options{BaseURL: srv.URL, Token: secret.New([]byte("tok")), Clock: fc, RootCAs: pool})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{sim: sim, srv: srv, clock: fc, client: c}
			got, _, err := f.pass(t, engine.Full, nil, oktatest.Statuses...)
			if err != nil || len(got) != users {
				t.Fatalf("full pass: %d users, %v", len(got), err)
			}
			calls := len(sim.Requests())
			want := int64(maxInFlight + 2) // one per request in flight, two dialled in a race
			if h2 {
				want = 2 // one, and one dialled in a race
			}
			if n := conns.Load(); n > want {
				t.Errorf("%d TLS connections for %d calls; want at most %d", n, calls, want)
			}
		})
	}
}

// An Okta whose answers were dated a year ahead for a while (a proxy that
// rewrote Date, a bad time step) leaves the watermark and the System Log
// position in the future, where incremental passes would find no change
// until the day came: the first incremental pass that finds its position
// more than an hour later than Okta's clock says so in its cursor, the
// next run is full, and its pass dates the position from its own answers.
func TestAPositionFromTheFutureMakesTheNextRunFull(t *testing.T) {
	t.Parallel()
	// A year between passes: a token that lapses after 30 days unused
	// would fail the second one (TestAnIdleAPITokenIsRevoked).
	f := newFixture(t, oktatest.Options{Users: 60, NoLimits: true, TokenIdle: -1}, Options{})
	_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	const year = 365 * 24 * time.Hour
	f.clock.Advance(year)
	active := f.sim.IDs("ACTIVE")
	_ = f.sim.EditProfile(active[1], map[string]any{"title": "Dated a year ahead"})
	_, ahead, err := f.pass(t, engine.Incremental, cur, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if why := f.client.FullRunNeeded(ahead, f.clock.Now()); why != "" {
		t.Errorf("a position from the answers of the time: full run needed %q", why)
	}
	f.clock.Advance(-year + time.Hour) // the clock is put right
	_ = f.sim.EditProfile(active[2], map[string]any{"title": "Edited after the clock was put right"})
	users, flagged, err := f.pass(t, engine.Incremental, ahead, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := users[active[2]]; ok && !u.Partial {
		t.Fatal("the test's premise: an incremental pass from a position a year ahead sees the edit")
	}
	if why := f.client.FullRunNeeded(flagged, f.clock.Now()); !strings.Contains(why, "later than its clock now") {
		t.Errorf("after a pass that found its position a year ahead: full run needed %q", why)
	}
	users, healed, err := f.pass(t, engine.Full, flagged, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := users[active[2]]; !ok {
		t.Error("the full pass did not read the edited user")
	}
	if why := f.client.FullRunNeeded(healed, f.clock.Now()); why != "" {
		t.Errorf("after the full pass: full run needed %q (%s)", why, healed)
	}
	f.clock.Advance(time.Hour)
	_ = f.sim.EditProfile(active[3], map[string]any{"title": "Seen by the next incremental pass"})
	users, next, err := f.pass(t, engine.Incremental, healed, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := users[active[3]]; !ok || u.Partial {
		t.Errorf("an edit after the full pass was not seen (%d users read)", len(users))
	}
	if why := f.client.FullRunNeeded(next, f.clock.Now()); why != "" {
		t.Errorf("after an incremental pass from a sound position: full run needed %q", why)
	}
}

// A role that may read neither devices nor factors: the first refused
// factors call ends the fallback for the pass, with a warning, and the
// pass goes on without devices.
func TestRefusedFactorsAreAskedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 120, Classic: true, NoLimits: true}, Options{})
	f.sim.Inject(oktatest.Fault{Suffix: "/factors", Times: 1 << 30, Status: http.StatusForbidden})
	full, _, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range full {
		if list, _ := u.Raw["devices"].([]any); len(list) > 0 {
			t.Fatalf("user %s has devices %v", u.ID, list)
		}
	}
	calls := 0
	for _, r := range f.sim.Requests() {
		if strings.HasSuffix(strings.SplitN(r.URL, "?", 2)[0], "/factors") {
			calls++
		}
	}
	if calls > maxInFlight {
		t.Errorf("%d factors calls after the first refusal (at most the %d in flight may go)", calls, maxInFlight)
	}
	if w := strings.Join(f.client.Stats().Warnings, "\n"); !strings.Contains(w, "factors API unavailable too") {
		t.Errorf("warnings %q", w)
	}
}

// A user is found by an e-mail changed a moment ago, though Okta's search
// sees the change only later (its eventually consistent store, simulated
// by SearchLag): the lookup filters first, which is current, and searches
// (which ignores case) only when the filter finds nobody.
func TestReadUserFindsAnEmailJustChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 30, SearchLag: 5 * time.Minute}, Options{})
	id := f.sim.IDs("ACTIVE")[3]
	f.clock.Advance(time.Hour)
	if err := f.sim.EditProfile(id, map[string]any{"email": "Renamed.User@example.com"}); err != nil {
		t.Fatal(err)
	}
	u, found, err := f.client.ReadUser(context.Background(), "Renamed.User@example.com", nil)
	if err != nil || !found || u.ID != id {
		t.Fatalf("by the new e-mail: %v %v %q", found, err, u.ID)
	}
	// Another case: the filter misses, search finds it once it caught up.
	f.clock.Advance(6 * time.Minute)
	u, found, err = f.client.ReadUser(context.Background(), "renamed.user@EXAMPLE.com", nil)
	if err != nil || !found || u.ID != id {
		t.Fatalf("by the e-mail in another case: %v %v %q", found, err, u.ID)
	}
	if _, found, err := f.client.ReadUser(context.Background(), "nobody@example.com", nil); err != nil || found {
		t.Errorf("an unknown e-mail: %v %v", found, err)
	}
}
