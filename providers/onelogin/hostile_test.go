package onelogin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/secret"
)

// OneLogin's 429 is a load balancer's page with no headers: the client asks
// GET /auth/rate_limit when the budget resets. Within 15 minutes it waits
// and the pass completes; further away, the pass ends cleanly with the
// reset's time, for the daemon to come back then. The account counts v2
// calls in the budget GET /auth/rate_limit reports, as OneLogin's older
// documents describe (SharedBudget; what was observed is the next test's).
func TestSpentBudgetWaitsForItsReset(t *testing.T) {
	t.Parallel()
	t.Run("reset within the wait", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, onelogintest.Options{Users: 400, HourlyLimit: 10, SharedBudget: true, MaxLimit: 50}, Options{})
		// 50 minutes into the account's window, 4 of its 10 calls spent by
		// another client (a token, a page, the event log, a user), whose
		// answers this one did not see; the pass needs 8 pages.
		f.clock.Advance(50 * time.Minute)
		other, err := New(Options{BaseURL: f.srv.URL, ClientID: "ol-client", ClientSecret: secret.New([]byte(simSecret)), Clock: f.clock})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Check(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := other.FindUser(context.Background(), "9"); err != nil {
			t.Fatal(err)
		}
		start := f.clock.Now()
		users, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
		if err != nil || cur == nil || len(users) != 400 {
			t.Fatalf("%d users, %v\n%s", len(users), err, f.logs)
		}
		waited := f.clock.Now().Sub(start)
		if waited < 9*time.Minute || waited > 12*time.Minute {
			t.Errorf("waited %v for a budget that reset in 10 minutes", waited)
		}
		if f.sim.Answers(429) == 0 {
			t.Fatal("no 429: the test proves nothing")
		}
		if s := f.client.Stats(); s.Retries == 0 || s.RateLimitWait < 9*time.Minute {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("reset beyond the wait", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, onelogintest.Options{Users: 400, HourlyLimit: 5, SharedBudget: true, MaxLimit: 50}, Options{})
		start := f.clock.Now()
		_, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
		var rl *engine.RateLimitedError
		if !errors.As(err, &rl) || cur != nil || !errors.Is(err, fault.ErrTransient) {
			t.Fatalf("err %v, cursor %s", err, cur)
		}
		reset := start.Add(time.Hour)
		if rl.Until.Before(reset) || rl.Until.After(reset.Add(3*time.Second)) {
			t.Errorf("until %v, the budget resets at %v", rl.Until, reset)
		}
		if f.clock.Now().Sub(start) > time.Minute || !strings.Contains(err.Error(), "runs it again then") {
			t.Errorf("waited %v: %v", f.clock.Now().Sub(start), err)
		}
	})
}

// What OneLogin was observed to do (onelogin-api.md §7.2): v2 calls meet a
// throttle of their own and leave the hourly budget GET /auth/rate_limit
// reports alone, so a 429 comes while that budget is full. The client backs
// off (2 s to 60 s) instead of waiting for the budget's reset, comes
// through when the throttle lifts within 15 minutes, and otherwise stops
// saying what it saw: not that the budget is spent, which it is not.
func TestAV2ThrottleWithTheBudgetLeft(t *testing.T) {
	t.Parallel()
	t.Run("lifts within the wait", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, onelogintest.Options{Users: 400, V2Limit: 6, MaxLimit: 50}, Options{})
		// Another client spent the v2 throttle; it lifts in 10 minutes.
		other, err := New(Options{BaseURL: f.srv.URL, ClientID: "ol-client", ClientSecret: secret.New([]byte(simSecret)), Clock: f.clock})
		if err != nil {
			t.Fatal(err)
		}
		for range 6 {
			if _, _, err := other.FindUser(context.Background(), "9"); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(50 * time.Minute)
		start := f.clock.Now()
		users, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
		if err != nil || cur == nil || len(users) != 400 {
			t.Fatalf("%d users, %v\n%s", len(users), err, f.logs)
		}
		if f.sim.Answers(429) == 0 {
			t.Fatal("no 429: the test proves nothing")
		}
		waited := f.clock.Now().Sub(start)
		if waited < 10*time.Minute || waited > 12*time.Minute {
			t.Errorf("waited %v for a throttle that lifted in 10 minutes", waited)
		}
	})
	t.Run("does not lift", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, onelogintest.Options{Users: 400, V2Limit: 3, MaxLimit: 50}, Options{})
		start := f.clock.Now()
		_, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
		var rl *engine.RateLimitedError
		if !errors.As(err, &rl) || cur != nil || !errors.Is(err, fault.ErrTransient) {
			t.Fatalf("err %v, cursor %s", err, cur)
		}
		msg := err.Error()
		if strings.Contains(msg, "is spent") || !strings.Contains(msg, "5000 of its 5000 calls left") || !strings.Contains(msg, "--rate-share") {
			t.Errorf("the message does not say what the client saw: %s", msg)
		}
		waited := f.clock.Now().Sub(start)
		if waited < 14*time.Minute || waited > 16*time.Minute || rl.Until.Before(f.clock.Now()) || rl.Until.After(f.clock.Now().Add(2*time.Minute)) {
			t.Errorf("waited %v, comes back at %v (now %v)", waited, rl.Until, f.clock.Now())
		}
		// Backed off: the 429s of a quarter of an hour are a few dozen,
		// each with one question to /auth/rate_limit.
		if n := f.sim.Answers(429); n < 10 || n > 40 {
			t.Errorf("%d 429s in %v", n, waited)
		}
	})
}

// A storm of 429s while budget is left (another throttle than the hourly
// budget) is waited out with backoff, not counted as failures: the ten in
// a row that used to end a run after seven attempts now only slow it.
func TestA429StormWithBudgetLeftIsWaitedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 300, HourlyLimit: -1}, Options{})
	f.sim.Inject(onelogintest.Fault{Path: "/api/2/users", Skip: 1, Times: 10, Status: 429},
		onelogintest.Fault{Path: "/api/2/users", Every: 3, Times: 1 << 20, Status: 429})
	users, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
	if err != nil || cur == nil || len(users) != 300 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	if n := f.sim.Answers(429); n < 10 {
		t.Fatalf("%d 429s", n)
	}
	var asked int
	for _, r := range f.sim.Requests() {
		if r.Path == "/auth/rate_limit" {
			asked++
		}
	}
	if asked == 0 {
		t.Error("the client never asked /auth/rate_limit")
	}
}

// Without /auth/rate_limit (it is throttled too), a 429 says nothing and
// counts as a failed attempt.
func TestA429WithNothingToGoByIsAFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 300, HourlyLimit: 3, SharedBudget: true, RateLimitThrottled: true}, Options{})
	_, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
	if err == nil || cur != nil || !strings.Contains(err.Error(), "gave up after 7 failed attempts") {
		t.Fatalf("err %v", err)
	}
}

// An After-Cursor that never ends stops at the bound the engine gives.
func TestEndlessCursorStopsAtTheBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 120, HourlyLimit: -1}, Options{})
	f.sim.Inject(onelogintest.Fault{Path: "/api/2/users", Times: 1 << 20, EndlessCursor: true})
	_, err := f.client.Fetch(context.Background(), engine.FetchRequest{Mode: engine.Full, Statuses: allStatuses(), MaxPages: 20},
		func([]engine.User) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "went on past 20 pages") || !errors.Is(err, fault.ErrTransient) {
		t.Fatalf("err %v", err)
	}
}

// The identity is the token answer's account_id.
func TestIdentityIsTheAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 5, AccountID: 189185}, Options{})
	id, err := f.client.Identity(context.Background())
	if err != nil || id != "onelogin account 189185" {
		t.Fatalf("%q, %v", id, err)
	}
}

// Huge pages decode whole as they stream in.
func TestHugePagesDecodeWhole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 120, HourlyLimit: -1}, Options{})
	f.sim.Inject(onelogintest.Fault{Path: "/api/2/users", Times: 1 << 20, Pad: 500 << 10})
	users, _, _, err := f.pass(t, engine.Full, nil, allStatuses()...)
	if err != nil || len(users) != 120 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	for _, u := range users {
		if p, _ := u.Raw["x-padding"].(string); len(p) != 500<<10 {
			t.Fatalf("user %s: padding %d", u.ID, len(p))
		}
	}
}

// OneLogin's window is an hour (onelogin-api.md §5.4). A 429 that asks to
// wait longer (a Retry-After past any clock, or a rate-limit countdown of
// a thousand hours) ends the pass as a spent budget does, to be run again
// within the hour, and the pass's warnings say so: it never parks the
// connector until the date the answer names.
func TestAnAbsurdWaitEndsThePassForAnHourAtMost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults []onelogintest.Fault
	}{
		{"Retry-After", []onelogintest.Fault{{Path: "/api/2/users", Status: 429, RawRetryAfter: "99999999999"}}},
		{"Retry-After in a year", []onelogintest.Fault{{Path: "/api/2/users", Status: 429, RetryAfter: 365 * 24 * time.Hour}}},
		{"rate-limit countdown", []onelogintest.Fault{{Path: "/api/2/users", Status: 429}, {Path: "/auth/rate_limit", ResetIn: 1000 * time.Hour}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, onelogintest.Options{Users: 300, HourlyLimit: -1}, Options{})
			f.sim.Inject(tc.faults...)
			start := f.clock.Now()
			_, _, cur, err := f.pass(t, engine.Full, nil, allStatuses()...)
			var rl *engine.RateLimitedError
			if !errors.As(err, &rl) || cur != nil {
				t.Fatalf("err %v, cursor %s", err, cur)
			}
			if rl.Until.Before(start.Add(15*time.Minute)) || rl.Until.After(start.Add(time.Hour+5*time.Second)) {
				t.Errorf("until %v, %v after the start; want within the hour", rl.Until, rl.Until.Sub(start))
			}
			if !strings.Contains(strings.Join(f.client.Stats().Warnings, "\n"), "window is an hour") {
				t.Errorf("warnings %q", f.client.Stats().Warnings)
			}
		})
	}
}

// Full passes get the last cursor too; one that does not read is not
// needed by a full pass, while an incremental pass says to run a full one.
func TestAFullPassNeedsNoReadableCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, onelogintest.Options{Users: 120, HourlyLimit: -1}, Options{})
	users, _, cur, err := f.pass(t, engine.Full, []byte(`{"v":1,"pageSize":"fifty"}`), allStatuses()...)
	if err != nil || cur == nil || len(users) != 120 {
		t.Fatalf("%d users, cursor %s, %v", len(users), cur, err)
	}
	if _, _, _, err := f.pass(t, engine.Incremental, []byte(`{`), allStatuses()...); err == nil || !strings.Contains(err.Error(), "run a full sync") {
		t.Fatalf("incremental pass on an unreadable cursor: %v", err)
	}
}
