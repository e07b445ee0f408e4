package onelogin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/secret"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const simSecret = "ol-Secret-Distinctive-91c2"

type fixture struct {
	sim    *onelogintest.Server
	srv    *httptest.Server
	clock  *clock.Fake
	client *Client
	logs   *bytes.Buffer
}

func newFixture(t testing.TB, so onelogintest.Options, co Options) *fixture {
	t.Helper()
	fc := clock.NewFake(t0)
	so.Clock, so.ClientID, so.ClientSecret = fc, "ol-client", simSecret
	sim := onelogintest.New(so)
	srv := sim.Start()
	t.Cleanup(srv.Close)
	logs := &bytes.Buffer{}
	co.BaseURL, co.ClientID, co.Clock = srv.URL, "ol-client", fc
	if !co.ClientSecret.IsSet() {
		co.ClientSecret = secret.New([]byte(simSecret))
	}
	co.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(co)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, srv: srv, clock: fc, client: c, logs: logs}
}

func allStatuses() []string {
	var out []string
	for _, s := range Spec.Statuses {
		out = append(out, s.Name)
	}
	return out
}

// pass runs one Fetch and returns the users by ID, how often each came,
// and the cursor.
func (f *fixture) pass(t testing.TB, mode engine.Mode, cur []byte, statuses ...string) (map[string]engine.User, map[string]int, []byte, error) {
	t.Helper()
	users, times := map[string]engine.User{}, map[string]int{}
	next, err := f.client.Fetch(context.Background(), engine.FetchRequest{Mode: mode, Cursor: cur, Statuses: statuses}, func(page []engine.User) error {
		for _, u := range page {
			users[u.ID] = u
			times[u.ID]++
		}
		return nil
	})
	return users, times, next, err
}

func ids(list []int64) map[string]bool {
	out := map[string]bool{}
	for _, id := range list {
		out[strconv.FormatInt(id, 10)] = true
	}
	return out
}

func TestFullPassReadsEveryUserOnceByCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 230, Seed: 7}, Options{})
	users, times, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
	if err != nil {
		t.Fatal(err)
	}
	want := ids(f.sim.IDs())
	if len(users) != len(want) {
		t.Fatalf("read %d users, the account has %d", len(users), len(want))
	}
	for id, n := range times {
		if !want[id] || n != 1 {
			t.Errorf("user %s read %d times (in account: %v)", id, n, want[id])
		}
	}
	// Every status, decoded to its name; ids and manager ids as decimal
	// strings whatever the wire type; the fields the list omits by default.
	seenStatus := map[string]bool{}
	for id, u := range users {
		seenStatus[u.Status] = true
		if u.Raw["id"] != id {
			t.Errorf("raw id %v", u.Raw["id"])
		}
		if m, ok := u.Raw["manager_user_id"].(string); u.Raw["manager_user_id"] != nil && (!ok || !want[m]) {
			t.Errorf("user %s: manager_user_id %#v", id, u.Raw["manager_user_id"])
		}
		if _, ok := u.Raw["custom_attributes"].(map[string]any); !ok {
			t.Errorf("user %s has no custom_attributes", id)
		}
	}
	for _, s := range allStatuses() {
		if !seenStatus[s] {
			t.Errorf("no user of status %s", s)
		}
	}
	// The wire: limit only on the first request, cursors after, fields and
	// a Bearer token always.
	var pages int
	for _, r := range f.sim.Requests() {
		if r.Path != "/api/2/users" {
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		if pages == 0 && (q.Get("limit") != "100" || q.Has("cursor")) || pages > 0 && (q.Has("limit") || q.Has("page") || !q.Has("cursor")) {
			t.Errorf("request %d: %s", pages, r.RawQuery)
		}
		if !strings.Contains(q.Get("fields"), "custom_attributes") || !strings.HasPrefix(r.Auth, "Bearer ") || r.Status != 200 {
			t.Errorf("request %d: %s %q %d", pages, r.RawQuery, r.Auth, r.Status)
		}
		pages++
	}
	if pages != (len(want)+99)/100 || f.sim.TokensIssued() != 1 {
		t.Errorf("%d pages, %d tokens", pages, f.sim.TokensIssued())
	}
	var c cursor
	if err := json.Unmarshal(cur, &c); err != nil || c.Watermark.IsZero() || c.Watermark.After(t0) {
		t.Errorf("cursor %s: %v", cur, err)
	}
}

// A full pass hands every user to the engine with its status named, so
// the engine can keep the selected ones and say why it drops the others.
func TestFullPassNamesEveryUsersStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 120}, Options{})
	users, _, _, err := f.pass(t, engine.Full, nil, "active", "suspended")
	if err != nil {
		t.Fatal(err)
	}
	for code, name := range map[int]string{0: "unactivated", 1: "active", 2: "suspended", 3: "locked", 4: "password-expired",
		5: "awaiting-password-reset", 7: "password-pending", 8: "security-questions-required"} {
		for id := range ids(f.sim.IDs(code)) {
			if u, ok := users[id]; !ok || u.Status != name {
				t.Errorf("user %s of status %d: listed %v as %q", id, code, ok, u.Status)
			}
		}
	}
}

// Status 6 is unused by OneLogin; users with it are treated as not
// selected, and the run says so once, not once per user.
func TestUnknownStatusWarnsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 60}, Options{})
	for _, id := range f.sim.IDs(1)[:3] {
		f.sim.SetStatus(id, 6)
	}
	users, _, _, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	if w := f.client.Stats().Warnings; len(w) != 1 || !strings.Contains(w[0], "unknown status code 6") {
		t.Errorf("warnings %q", w)
	}
	if u := users[strconv.FormatInt(f.sim.IDs(6)[0], 10)]; u.Status != "" {
		t.Errorf("status 6 named %q", u.Status)
	}
}

func TestIncrementalSeesEveryChangeThroughTheLag(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 150, Lag: 4 * time.Minute}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	act := f.sim.IDs(1)
	f.clock.Advance(time.Hour)
	f.sim.SetTitle(act[3], "Chief Surfer")
	f.sim.SetStatus(act[4], 2) // out of the selection: must still be seen
	f.sim.SetManager(act[5], act[6])
	created := f.sim.Create("Zoë", "Ångström")
	f.clock.Advance(time.Minute) // the changes are still queued (lag 4 min)
	users, _, cur2, err := f.pass(t, engine.Incremental, cur, "active")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{act[3], act[4], act[5], created} {
		if _, ok := users[strconv.FormatInt(id, 10)]; ok {
			t.Errorf("change to %d seen before OneLogin applied it", id)
		}
	}
	f.clock.Advance(5 * time.Minute)
	users, _, cur3, err := f.pass(t, engine.Incremental, cur2, "active")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{act[3], act[4], act[5], created} {
		if _, ok := users[strconv.FormatInt(id, 10)]; !ok {
			t.Errorf("change to %d not seen (%d users read)", id, len(users))
		}
	}
	if u := users[strconv.FormatInt(act[4], 10)]; u.Status != "suspended" {
		t.Errorf("suspended user has status %q", u.Status)
	}
	if u := users[strconv.FormatInt(act[5], 10)]; u.Raw["manager_user_id"] != strconv.FormatInt(act[6], 10) {
		t.Errorf("new manager %v", u.Raw["manager_user_id"])
	}
	var w2, w3 cursor
	_ = json.Unmarshal(cur2, &w2)
	_ = json.Unmarshal(cur3, &w3)
	if w3.Watermark.Before(w2.Watermark) {
		t.Errorf("watermark went back: %v then %v", w2.Watermark, w3.Watermark)
	}
	var q url.Values
	for _, r := range f.sim.Requests() { // the pass's last listing (the event log comes after it)
		if r.Path == "/api/2/users" {
			q, _ = url.ParseQuery(r.RawQuery)
		}
	}
	if q.Get("updated_since") != w2.Watermark.Add(-Overlap).Format(TimeFormat) {
		t.Errorf("updated_since %s, watermark %v", q.Get("updated_since"), w2.Watermark)
	}
	if _, _, _, err := f.pass(t, engine.Incremental, nil, "active"); err == nil {
		t.Error("an incremental pass without a cursor ran")
	}
}

func TestHardDeleteIsAbsentFromTheNextFullPass(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 80}, Options{})
	gone := f.sim.IDs(1)[2]
	f.sim.Delete(gone)
	users, _, _, err := f.pass(t, engine.Full, nil, allStatuses()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := users[strconv.FormatInt(gone, 10)]; ok || len(users) != 79 {
		t.Errorf("deleted user listed, or %d users", len(users))
	}
}

// A delete during a pass shifts the offset-based pages by one row; the
// skipped user must still be read (onelogin-api.md §2.2 rule 5), also when
// a user is created in the same pass (an admin offboards one person and
// onboards another), which leaves the count where it began. The listing
// is walked again only then: not for a quiet pass, nor for a create.
func TestDeleteDuringThePassSkipsNobody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		delete, create bool
		listings       int // GET /api/2/users: 6 pages of 100 a walk
	}{
		{"nothing", false, false, 6},
		{"a create", false, true, 6},
		{"a delete", true, false, 12},
		{"a delete and a create", true, true, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, onelogintest.Options{Users: 520}, Options{})
			all := f.sim.IDs()
			users := map[string]bool{}
			pages := 0
			_, err := f.client.Fetch(context.Background(), engine.FetchRequest{Mode: engine.Full, Statuses: allStatuses()}, func(page []engine.User) error {
				for _, u := range page {
					users[u.ID] = true
				}
				if pages++; pages == 2 { // pages 1 and 2 read, 3 maybe on its way
					if tc.delete {
						f.sim.Delete(all[0]) // a row of a page already read
					}
					if tc.create {
						all = append(all, f.sim.Create("Nia", "Newhire"))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range all[1:] {
				if !users[strconv.FormatInt(id, 10)] {
					t.Errorf("user %d skipped", id)
				}
			}
			listings := 0
			for _, r := range f.sim.Requests() {
				if r.Path == "/api/2/users" {
					listings++
				}
			}
			if listings != tc.listings {
				t.Errorf("%d listing requests, want %d", listings, tc.listings)
			}
		})
	}
}

func TestTokenIsCachedAndRenewedOnceOn401(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 200, MaxLimit: 50}, Options{})
	f.sim.Inject(onelogintest.Fault{Path: "/api/2/users", Skip: 2, Revoke: true})
	users, _, _, err := f.pass(t, engine.Full, nil, allStatuses()...)
	if err != nil || len(users) != 200 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	if f.sim.TokensIssued() != 2 || f.sim.Answers(401) != 1 {
		t.Errorf("%d tokens, %d 401s", f.sim.TokensIssued(), f.sim.Answers(401))
	}
	// A 401 for the new token as well is an admin's problem.
	f.sim.Inject(onelogintest.Fault{Path: "/api/2/users", Times: 2, Status: 401})
	_, _, _, err = f.pass(t, engine.Full, nil, allStatuses()...)
	if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "Read All") {
		t.Errorf("second 401: %v", err)
	}
}

func TestCredentialProblemsAreConfigErrors(t *testing.T) {
	t.Parallel()
	wrong := newFixture(t, onelogintest.Options{}, Options{ClientSecret: secret.New([]byte("not-" + simSecret))})
	_, err := wrong.client.Check(context.Background(), nil)
	if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "refused the client ID and secret") {
		t.Errorf("wrong secret: %v", err)
	}
	gone := newFixture(t, onelogintest.Options{CreatorDeleted: true}, Options{})
	_, _, _, err = gone.pass(t, engine.Full, nil, "active")
	if !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "was deleted") {
		t.Errorf("creator deleted: %v", err)
	}
	for _, e := range []error{err} {
		if strings.Contains(e.Error(), simSecret) {
			t.Errorf("the secret leaked: %v", e)
		}
	}
	ok := newFixture(t, onelogintest.Options{Users: 30}, Options{})
	msg, err := ok.client.Check(context.Background(), nil)
	if err != nil || !strings.Contains(msg, "lists 30 users") {
		t.Errorf("check: %q %v", msg, err)
	}
}

func TestRateShareIsNeverExceeded(t *testing.T) {
	t.Parallel()
	for _, headers := range []bool{false, true} {
		t.Run(fmt.Sprint("headers=", headers), func(t *testing.T) {
			t.Parallel()
			// 200 calls an hour, half of them ours: 6,000 users are 121
			// pages and a token, so the pass spans two windows.
			f := newFixture(t, onelogintest.Options{Users: 6000, HourlyLimit: 200, RateHeaders: headers, MaxLimit: 50}, Options{HourlyLimit: 200, RateShare: 50})
			users, _, _, err := f.pass(t, engine.Full, nil, allStatuses()...)
			if err != nil || len(users) != 6000 {
				t.Fatalf("%d users, %v", len(users), err)
			}
			if got := f.sim.MaxCallsPerHour(); got > 100 {
				t.Errorf("%d calls in one hour, share is 100", got)
			}
			if f.sim.Answers(429) != 0 || f.client.Stats().RateLimitWaits == 0 {
				t.Errorf("429s %d, waits %+v", f.sim.Answers(429), f.client.Stats())
			}
		})
	}
}

func TestFaultsEndInARetryOrACleanError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fault   onelogintest.Fault
		wantErr string // "" means the pass recovers
	}{
		{onelogintest.Fault{Path: "/api/2/users", Status: 502, Times: 2}, ""},
		{onelogintest.Fault{Path: "/api/2/users", Status: 429, Times: 3}, ""}, // HTML, no Retry-After
		{onelogintest.Fault{Path: "/api/2/users", Skip: 1, Reset: true}, ""},
		{onelogintest.Fault{Path: "/api/2/users", Skip: 2, Truncate: true}, ""},
		{onelogintest.Fault{Path: "/api/2/users", Skip: 1, Delay: 2 * time.Second}, ""}, // past the client's timeout
		{onelogintest.Fault{Path: "/api/2/users", Skip: 1, Status: 429, RetryAfter: 40 * time.Second}, ""},
		{onelogintest.Fault{Path: "/api/2/users", Skip: 1, Status: 429, RetryAfter: 50 * time.Minute}, "longer than a run waits"},
		{onelogintest.Fault{Path: "/api/2/users", Skip: 1, InvalidJSON: true}, ""},
		{onelogintest.Fault{Path: "/auth/oauth2", Status: 503}, ""},
		{onelogintest.Fault{Path: "/api/2/users", Status: 503, Times: 100}, "gave up after 7 failed attempts"},
		{onelogintest.Fault{Path: "/api/2/users", Skip: 1, StallCursor: true}, "pagination stalled"},
		{onelogintest.Fault{Path: "/api/2/users", Status: 400}, "HTTP 400"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%+v", tc.fault), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, onelogintest.Options{Users: 150}, Options{Timeout: 500 * time.Millisecond})
			f.sim.Inject(tc.fault)
			users, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
			if tc.wantErr == "" {
				if err != nil || len(users) != 150 {
					t.Fatalf("%d users, %v\n%s", len(users), err, f.logs)
				}
				if w := f.client.Stats().RateLimitWait; w < tc.fault.RetryAfter {
					t.Errorf("waited %v, Retry-After said %v", w, tc.fault.RetryAfter)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || cur != nil {
				t.Fatalf("error %v, cursor %s", err, cur)
			}
		})
	}
}

func TestFindUserFetchesOnceAndKnowsMissingUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 40}, Options{})
	id := strconv.FormatInt(f.sim.IDs(2)[0], 10)
	for range 3 {
		u, found, err := f.client.FindUser(context.Background(), id)
		if err != nil || !found || u.Status != "suspended" || u.Raw["title"] == nil && u.Raw["department"] == nil {
			t.Fatalf("%+v %v %v", u, found, err)
		}
	}
	if _, found, err := f.client.FindUser(context.Background(), "99"); found || err != nil {
		t.Errorf("missing user: %v %v", found, err)
	}
	var gets int
	for _, r := range f.sim.Requests() {
		if strings.HasPrefix(r.Path, "/api/2/users/") {
			gets++
		}
	}
	if gets != 2 {
		t.Errorf("%d GETs by id, want 2 (cached)", gets)
	}
}

func TestIDsArriveAsNumbersOrStrings(t *testing.T) {
	for in, want := range map[string]string{`123`: "123", `"123"`: "123", `"\"123\""`: "123", `null`: "", `"x"`: "", `-1`: "", `1.5`: ""} {
		var raw map[string]any
		dec := json.NewDecoder(strings.NewReader(`{"v":` + in + `}`))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		// encoding/json's Number and goccy's are the same string type in
		// spirit; idString reads strings and numbers alike.
		v := raw["v"]
		if n, ok := v.(json.Number); ok {
			v = n.String()
		}
		got, ok := idString(v)
		if (want != "") != ok || got != want {
			t.Errorf("%s: %q %v", in, got, ok)
		}
	}
}

func TestHTTPSAndTrust(t *testing.T) {
	t.Parallel()
	sim := onelogintest.New(onelogintest.Options{Users: 10, ClientID: "c", ClientSecret: "s"})
	ts, pool := sim.StartTLS()
	defer ts.Close()
	for _, trusted := range []bool{true, false} {
		o := Options{BaseURL: ts.URL, ClientID: "c", ClientSecret: secret.New([]byte("s"))}
		if trusted {
			o.RootCAs = pool
		}
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = c.Check(ctx, nil)
		cancel()
		if trusted && err != nil || !trusted && (!errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "not trusted")) {
			t.Errorf("trusted=%v: %v", trusted, err)
		}
	}
	if _, err := New(Options{BaseURL: "http://acme.onelogin.com", ClientID: "c", ClientSecret: secret.New([]byte("s"))}); err == nil {
		t.Error("plain http to a remote host accepted")
	}
}

// A server clock that was wrong for a while (a year ahead: a proxy that
// rewrites Date, a bad time step on OneLogin's side) leaves the watermark
// in the future, and incremental passes then ask for the changes after a
// day that has not come: they find none, with no error. An incremental
// pass that finds its position more than an hour later than OneLogin's
// clock says so in its cursor, which makes the next run full, and a full
// pass starts the position afresh from its own answers. Before, a full
// pass kept the later watermark, so incremental runs stayed blind until
// the day came. This computer's clock plays no part.
func TestAWatermarkFromTheFutureIsNotKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 40}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, "active")
	if err != nil {
		t.Fatal(err)
	}
	act := f.sim.IDs(1)
	const year = 365 * 24 * time.Hour
	f.clock.Advance(year)
	f.sim.SetTitle(act[1], "Dated a year ahead")
	_, _, ahead, err := f.pass(t, engine.Incremental, cur, "active")
	if err != nil {
		t.Fatal(err)
	}
	if why := f.client.FullRunNeeded(ahead, t0.Add(-year)); why != "" {
		t.Errorf("a position from the answers of the time: full run needed %q", why)
	}
	f.clock.Advance(-year + time.Hour) // the clock is put right
	f.sim.SetTitle(act[2], "Edited after the clock was put right")
	users, _, flagged, err := f.pass(t, engine.Incremental, ahead, "active")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := users[strconv.FormatInt(act[2], 10)]; ok {
		t.Fatal("the test's premise: an incremental pass from a position a year ahead sees the edit")
	}
	if why := f.client.FullRunNeeded(flagged, t0); !strings.Contains(why, "later than its clock now") {
		t.Errorf("after a pass that found its position a year ahead: full run needed %q", why)
	}
	users, _, healed, err := f.pass(t, engine.Full, flagged, "active")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := users[strconv.FormatInt(act[2], 10)]; !ok {
		t.Error("the full pass did not read the edited user")
	}
	var w cursor
	if err := json.Unmarshal(healed, &w); err != nil || w.Watermark.After(f.clock.Now().Add(time.Minute)) || w.Events.After(f.clock.Now().Add(time.Minute)) {
		t.Fatalf("after a full pass the cursor is %s (%v), the clock %v", healed, err, f.clock.Now())
	}
	if why := f.client.FullRunNeeded(healed, t0); why != "" {
		t.Errorf("after the full pass: full run needed %q", why)
	}
	f.clock.Advance(time.Hour)
	f.sim.SetTitle(act[3], "Seen by the next incremental pass")
	users, _, next, err := f.pass(t, engine.Incremental, healed, "active")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := users[strconv.FormatInt(act[3], 10)]; !ok {
		t.Errorf("an edit after the full pass was not seen (%d users read)", len(users))
	}
	if why := f.client.FullRunNeeded(next, t0); why != "" {
		t.Errorf("after an incremental pass from a sound position: full run needed %q", why)
	}
}

// A server (or a proxy) that drops user_ids would list the whole account
// for a few reports read again: the first page with a user not asked for
// ends it, with a warning, and delivers nothing of it.
func TestAListingThatIgnoresUserIDsStops(t *testing.T) {
	t.Parallel()
	for _, ignore := range []bool{false, true} {
		f := newFixture(t, onelogintest.Options{Users: 400, HourlyLimit: -1}, Options{})
		sim := f.srv.Config.Handler
		var byIDs atomic.Int32
		f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); q.Has("user_ids") || q.Has("cursor") && byIDs.Load() > 0 {
				byIDs.Add(1)
				if ignore {
					q.Del("user_ids")
					r.URL.RawQuery = q.Encode()
				}
			}
			sim.ServeHTTP(w, r)
		})
		asked := []string{"30000005", "30000077", "30000300"}
		var again []string
		_, err := f.client.Fetch(context.Background(), engine.FetchRequest{Mode: engine.Full, Statuses: allStatuses(),
			Again: func() ([]string, error) { return asked, nil }}, func(users []engine.User) error {
			if byIDs.Load() > 0 {
				for _, u := range users {
					again = append(again, u.ID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(strings.Join(f.client.Stats().Warnings, " "), "user_ids")
		switch {
		case !ignore && (!slices.Equal(again, asked) || warned || byIDs.Load() != 1):
			t.Errorf("read again %v in %d calls, warned %v", again, byIDs.Load(), warned)
		case ignore && (len(again) != 0 || !warned || byIDs.Load() != 1):
			t.Errorf("filter dropped: read again %v in %d calls, warned %v", again, byIDs.Load(), warned)
		}
	}
}
