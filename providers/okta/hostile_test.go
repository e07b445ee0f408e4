package okta

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/okta/oktatest"
)

// A 429 that says when to come back is a wait, not a failed attempt: eight
// of them in a row on one request (more than MaxRetries) are waited out,
// each until its announced reset, and the pass completes.
func TestRepeated429sAreWaitsNotFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 8, Status: 429, ResetIn: 2 * time.Second})
	got, cur, err := f.pass(t, engine.Incremental, initialCursor(), "ACTIVE")
	if err != nil || cur == nil || len(got) == 0 {
		t.Fatalf("%d users, cursor %s, %v", len(got), cur, err)
	}
	var resetAt time.Time
	n := 0
	for _, r := range f.sim.Requests() {
		if r.Bucket != "users" {
			continue
		}
		if !resetAt.IsZero() && r.Time.Before(resetAt) {
			t.Fatalf("a request at %v, before the announced reset %v", r.Time, resetAt)
		}
		resetAt = time.Time{}
		if r.Status == 429 {
			n++
			resetAt = r.Time.Add(2*time.Second + time.Second - 1).Truncate(time.Second) // as announced: whole seconds, up
		}
	}
	if n != 8 {
		t.Fatalf("%d 429s answered, want 8", n)
	}
	if s := f.client.Stats(); s.Retries != 8 || s.RateLimitWaits < 8 {
		t.Errorf("stats %+v", s)
	}
}

// initialCursor lets a test start with an incremental pass over every user.
func initialCursor() []byte { return []byte(`{"v":1,"watermark":"2000-01-01T00:00:00Z"}`) }

// A storm of 429s on every bucket (every fourth request, a reset two seconds
// ahead: another client hammering the org) slows a full pass down but never
// fails it, and every user arrives once.
func TestA429StormOnEveryBucket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 2000, NoLimits: true}, Options{PageSize: 100})
	// One counter per bucket: the devices sweep makes few calls, and one
	// shared counter would reach it or not depending on interleaving.
	for _, path := range []string{"/api/v1/users", "/api/v1/apps", "/api/v1/devices"} {
		f.sim.Inject(oktatest.Fault{Path: path, Every: 4, Times: 1 << 30, Status: 429, ResetIn: 2 * time.Second})
	}
	got, cur, err := f.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED")
	if err != nil || cur == nil {
		t.Fatalf("storm: %v", err)
	}
	if len(got) != len(f.sim.IDs("ACTIVE", "SUSPENDED")) {
		t.Fatalf("%d users, want %d", len(got), len(f.sim.IDs("ACTIVE", "SUSPENDED")))
	}
	buckets := map[string]bool{}
	for _, r := range f.sim.Requests() {
		if r.Status == 429 {
			buckets[r.Bucket] = true
		}
	}
	if !buckets["users"] || !buckets["apps"] || !buckets["devices"] {
		t.Fatalf("the storm reached only %v", buckets)
	}
	var withApps int
	for _, u := range got {
		if apps, _ := u.Raw["appLinks"].([]any); len(apps) > 0 {
			withApps++
		}
	}
	if withApps == 0 {
		t.Fatal("the sweep's apps were lost in the storm")
	}
}

// A storm that lasts longer than a run may wait (15 minutes of announced
// waits on one request) ends the pass cleanly, saying until when.
func TestA429StormLongerThanARunWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 1 << 30, Status: 429, ResetIn: 50 * time.Second})
	start := f.clock.Now()
	_, cur, err := f.pass(t, engine.Incremental, initialCursor(), "ACTIVE")
	var rl *engine.RateLimitedError
	if !errors.As(err, &rl) || cur != nil || !errors.Is(err, fault.ErrTransient) {
		t.Fatalf("err %v, cursor %s", err, cur)
	}
	waited := f.clock.Now().Sub(start)
	if waited < 14*time.Minute || waited > engine.MaxRateLimitWait {
		t.Errorf("waited %v before giving up", waited)
	}
	if rl.Until.Before(f.clock.Now()) || !strings.Contains(err.Error(), "kept answering 429") {
		t.Errorf("until %v (now %v): %v", rl.Until, f.clock.Now(), err)
	}
}

// Okta's concurrency limit (X-Rate-Limit-Limit: 0) is the org's, shared
// with its other clients: after one such 429 the pass goes on one request
// at a time, so it stops provoking them.
func TestConcurrencyLimitMakesThePassSerial(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 3000, NoLimits: true, Concurrency: 1}, Options{PageSize: 100})
	// Slow answers keep requests in flight long enough to collide.
	f.sim.Inject(oktatest.Fault{Times: 1 << 30, Delay: 2 * time.Millisecond})
	got, _, err := f.pass(t, engine.Full, nil, "ACTIVE")
	if err != nil || len(got) != len(f.sim.IDs("ACTIVE")) {
		t.Fatalf("%d users, %v", len(got), err)
	}
	n := f.sim.Statuses()[429]
	if n == 0 {
		t.Fatal("no concurrency 429: the test proves nothing")
	}
	// The requests in flight when the first came may collide once each (and
	// the simulator counts a finished request a moment after the client has
	// its answer); without the switch a pass collides dozens of times.
	if n > 2*maxInFlight {
		t.Errorf("%d concurrency 429s: the pass did not go serial after the first", n)
	}
	if w := f.client.Stats().Warnings; len(w) == 0 || !strings.Contains(strings.Join(w, " "), "one request at a time") {
		t.Errorf("warnings %q", w)
	}
}

// A listing whose next links never end stops at the bound the engine
// gives, as a failed pass.
func TestEndlessNextLinksStopAtTheBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 1 << 30, EndlessNext: true})
	_, err := f.client.Fetch(t.Context(), engine.FetchRequest{Mode: engine.Incremental, Cursor: initialCursor(),
		Statuses: []string{"ACTIVE"}, MaxPages: 25}, func([]engine.User) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "went on past 25 pages") || !errors.Is(err, fault.ErrTransient) {
		t.Fatalf("err %v", err)
	}
	if got := f.sim.Calls()["users"]; got < 25 || got > 27 {
		t.Errorf("%d pages read for a bound of 25", got)
	}
}

// A page of 60 MB (every user 300 KB larger than usual) is decoded as it
// streams in: the users arrive whole. (BenchmarkHugePage measures memory.)
func TestHugePagesDecodeWhole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 250, NoLimits: true}, Options{})
	f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 1 << 30, Pad: 300 << 10})
	got, _, err := f.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED", "STAGED")
	if err != nil || len(got) != len(f.sim.IDs("ACTIVE", "SUSPENDED", "STAGED")) {
		t.Fatalf("%d users, %v", len(got), err)
	}
	for _, u := range got {
		if p, _ := u.Raw["x-padding"].(string); len(p) != 300<<10 {
			t.Fatalf("user %s: padding of %d bytes", u.ID, len(p))
		}
	}
}

// Under a storm whose 429s announce resets earlier than the windows' real
// ends, the connector still never sends more than its share in any window:
// a 429's reset holds requests back but never opens a new window.
func TestA429StormKeepsTheShare(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 6000}, Options{PageSize: 50, RateShare: 30})
	f.sim.Inject(oktatest.Fault{Every: 7, Times: 1 << 30, Status: 429, ResetIn: time.Second})
	if _, _, err := f.pass(t, engine.Full, nil, "ACTIVE", "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	for bucket, most := range f.sim.MaxTokenShare() {
		if budget := f.sim.Limit(bucket) * 30 / 100; most > budget {
			t.Errorf("bucket %s: %d requests in one window, the share allows %d", bucket, most, budget)
		}
	}
	if f.sim.Statuses()[429] == 0 {
		t.Fatal("no 429: the test proves nothing")
	}
}

// Okta's windows are a minute (okta-api.md §7.1). An answer whose headers
// say the window is spent until a year from now (a broken org, or a proxy
// or a clock in between) costs a pass at most a window's wait, and says
// so, instead of holding it for the year; the answers after it, sane
// again, pace it as before, and no 429 is provoked.
func TestAnAbsurdResetCostsAWindowAtMost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault oktatest.Fault
	}{
		{"on a page", oktatest.Fault{Path: "/api/v1/users", Skip: 1, ResetIn: 365 * 24 * time.Hour}},
		{"on a 429", oktatest.Fault{Path: "/api/v1/users", Skip: 1, Status: 429, ResetIn: 100 * 365 * 24 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, oktatest.Options{Users: 1500}, Options{PageSize: 200})
			f.sim.Inject(tc.fault)
			start := f.clock.Now()
			got, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
			if err != nil || cur == nil || len(got) != len(f.sim.IDs("ACTIVE")) {
				t.Fatalf("%d users, cursor %s, %v", len(got), cur, err)
			}
			took := f.clock.Now().Sub(start)
			t.Logf("took %v", took)
			if took > 3*time.Minute {
				t.Errorf("the pass took %v on the simulated clock; an absurd reset should cost a window or two", took)
			}
			s := f.client.Stats()
			if n := f.sim.Statuses()[429]; n > 1 || (n == 1) != (tc.fault.Status == 429) {
				t.Errorf("%d 429s", n)
			}
			if !strings.Contains(strings.Join(s.Warnings, "\n"), "ahead") {
				t.Errorf("no warning about the reset: %q", s.Warnings)
			}
		})
	}
}

// A 429 without its Date or its X-Rate-Limit-Reset says nothing of when to
// come back. Okta's Go SDK gives up on it at once (okta-api.md §7.4); here
// it is a failed attempt, backed off and tried again, so a few of them
// only slow the pass, and only a run of them past MaxRetries fails it.
func TestA429WithoutDateOrResetIsRetried(t *testing.T) {
	t.Parallel()
	t.Run("a few", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
		f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 2, Status: 429, NoDate: true},
			oktatest.Fault{Path: "/api/v1/users", Times: 2, Status: 429, NoReset: true})
		got, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
		if err != nil || cur == nil || len(got) != len(f.sim.IDs("ACTIVE")) {
			t.Fatalf("%d users, cursor %s, %v", len(got), cur, err)
		}
		if s := f.client.Stats(); s.Retries != 4 {
			t.Errorf("%d retries, want 4", s.Retries)
		}
	})
	t.Run("more than MaxRetries", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, oktatest.Options{Users: 300, NoLimits: true}, Options{PageSize: 100})
		f.sim.Inject(oktatest.Fault{Path: "/api/v1/users", Times: 1 << 20, Status: 429, NoDate: true})
		_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
		if err == nil || cur != nil || !strings.Contains(err.Error(), "gave up after") || !errors.Is(err, fault.ErrTransient) {
			t.Fatalf("cursor %s, %v", cur, err)
		}
	})
}

// Full passes get the last cursor too (engine.FetchRequest); one that does
// not read (a database written by a future version, a damaged value) is
// not needed by a full pass, which starts afresh, while an incremental
// pass says to run a full one.
func TestAFullPassNeedsNoReadableCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oktatest.Options{Users: 50, NoLimits: true}, Options{})
	got, cur, err := f.pass(t, engine.Full, []byte(`{"v":2,"appNumbers":"not a list"`), "ACTIVE")
	if err != nil || cur == nil || len(got) != len(f.sim.IDs("ACTIVE")) {
		t.Fatalf("%d users, cursor %s, %v", len(got), cur, err)
	}
	if _, _, err := f.pass(t, engine.Incremental, []byte(`{"v":2,`), "ACTIVE"); err == nil || !strings.Contains(err.Error(), "run a full sync") {
		t.Fatalf("incremental pass on an unreadable cursor: %v", err)
	}
}

// A user's app links, devices and factors come unpaginated, so a broken
// server or a proxy that loops over one of those lists would send a body
// that only the 256 MiB bound ends, decoded into millions of maps first:
// gigabytes for one user. The client reads at most maxUserList of them and
// fails the pass on a malformed answer, naming the list.
func TestAnEndlessListOfOneUserFailsThePass(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		suffix, what string
		classic      bool
	}{{"/appLinks", "app links", false}, {"/devices", "devices", false}, {"/factors", "factors", true}} {
		f := newFixture(t, oktatest.Options{Users: 40, NoLimits: true, Classic: c.classic}, Options{MaxRetries: 1})
		_, cur, err := f.pass(t, engine.Full, nil, "ACTIVE")
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		id := f.sim.IDs("ACTIVE")[2]
		if err := f.sim.EditProfile(id, map[string]any{"title": "Looped"}); err != nil {
			t.Fatal(err)
		}
		f.sim.SetNoLogs(true) // no log to trust the stored state by: the changed user's lists are read again
		f.sim.Inject(oktatest.Fault{Path: "/api/v1/users/", Suffix: c.suffix, Times: 1 << 30, Repeat: maxUserList + 1})
		_, _, err = f.pass(t, engine.Incremental, cur, "ACTIVE")
		want := fmt.Sprintf("more than %d %s", maxUserList, c.what)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", c.suffix, err, want)
		}
	}
}
