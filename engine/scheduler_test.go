package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// manualClock stands still until the test moves it; Sleep blocks until the
// clock reaches the sleeper's deadline. The scheduler's loop is the only
// sleeper here, so "one sleeper waiting" means it finished a tick.
type manualClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers map[chan struct{}]time.Time
}

func newManualClock(t time.Time) *manualClock {
	return &manualClock{now: t, sleepers: map[chan struct{}]time.Time{}}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	ch := make(chan struct{})
	c.mu.Lock()
	c.sleepers[ch] = c.now.Add(d)
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.sleepers, ch)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// advance moves the clock by d and wakes the sleepers that are due.
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for ch, until := range c.sleepers {
		if !until.After(c.now) {
			close(ch)
			delete(c.sleepers, ch)
		}
	}
}

// stepBack sets the clock back by d, as an admin or NTP setting a clock
// that was ahead does. Sleepers keep their durations (Go's sleeps follow
// the monotonic clock, not the wall clock).
func (c *manualClock) stepBack(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(-d)
	for ch, until := range c.sleepers {
		c.sleepers[ch] = until.Add(-d)
	}
}

func (c *manualClock) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// stubProvider returns a fixed set of users, or fails, or blocks.
type stubProvider struct {
	users []engine.User
	fail  error
	block chan struct{} // if set, Fetch waits for it to close
}

func (p *stubProvider) Fetch(ctx context.Context, _ engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p.fail != nil {
		return nil, p.fail
	}
	if err := page(p.users); err != nil {
		return nil, err
	}
	return []byte("cursor"), nil
}

type nullSink struct{}

func (nullSink) Push(context.Context, string, sink.Payload) error { return nil }

// downSink is a sink in a long outage.
type downSink struct{}

func (downSink) Push(context.Context, string, sink.Payload) error {
	return &sink.Error{Class: fault.ErrTransient, Status: 503, Message: "down for maintenance"}
}

// schedEnv is a scheduler on a manual clock with stub providers.
type schedEnv struct {
	t     *testing.T
	clock *manualClock
	db    *store.DB
	sched *engine.Scheduler
	runs  chan string // names of connectors whose run finished
	mu    sync.Mutex
	provs map[string]*stubProvider
	// started and finished count the runs of the stub providers: a run
	// whose state says done may not have told Finished yet.
	started, finished map[string]int
	cancel            context.CancelFunc
	done              chan error
}

func newSchedEnv(t *testing.T, start time.Time, conns ...connector.Config) *schedEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	src, err := mapping.NewSource(connector.Specs{okta.Spec, onelogin.Spec}, os.DirFS("../mappings"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &schedEnv{t: t, clock: newManualClock(start), db: db, runs: make(chan string, 100), provs: map[string]*stubProvider{},
		started: map[string]int{}, finished: map[string]int{}}
	for _, c := range conns {
		e.put(c)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := &engine.Engine{DB: db, Tables: mapping.NewKeeper(src), Clock: e.clock, Log: log, SpillDir: dir}
	e.sched = &engine.Scheduler{Engine: eng, Sink: nullSink{}, Server: connector.DefaultServer, Local: time.UTC,
		Tick: time.Minute, Poll: time.Hour,
		Provider: func(_ context.Context, c connector.Config) (engine.Provider, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			p := e.provs[c.Name]
			if p == nil || p.block == nil {
				// A run that does not block is awaited by idle, failing
				// ones too: left out, a failure under load was read
				// a dozen ticks late.
				e.started[c.Name]++
			}
			if p != nil {
				return p, nil
			}
			return &stubProvider{users: []engine.User{{ID: "u1", Status: "ACTIVE", Raw: map[string]any{"id": "u1", "status": "ACTIVE"}}}}, nil
		},
		Finished: func(c connector.Config, _ store.Run) {
			// The run is in e.runs before it counts as finished: idle
			// returns once started and finished agree, and a run counted
			// but not yet sent was read a minute late (a flake under load).
			e.runs <- c.Name
			e.mu.Lock()
			e.finished[c.Name]++
			e.mu.Unlock()
		},
	}
	return e
}

func (e *schedEnv) put(c connector.Config) {
	e.t.Helper()
	if err := e.db.Update(func(tx *store.Tx) error { return tx.PutConnector(c) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *schedEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.sched.Run(ctx) }()
	e.idle()
	e.t.Cleanup(e.stop)
}

func (e *schedEnv) stop() {
	if e.cancel != nil {
		e.cancel()
		if err := <-e.done; err != nil {
			e.t.Error(err)
		}
		e.cancel = nil
	}
}

// idle waits until the scheduler's loop sleeps again and no run is going on.
func (e *schedEnv) idle() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e.clock.waiting() >= 1 && !e.busy() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	e.t.Fatal("the scheduler did not settle")
}

func (e *schedEnv) busy() bool {
	e.mu.Lock()
	blocks := map[string]bool{}
	for name, p := range e.provs {
		blocks[name] = p != nil && p.block != nil
	}
	for name, n := range e.started {
		if n > e.finished[name] {
			e.mu.Unlock()
			return true // done, but Finished has not been told yet
		}
	}
	e.mu.Unlock()
	var all []connector.Config
	_ = e.db.View(func(tx *store.Tx) error { all, _ = tx.Connectors(); return nil })
	for _, c := range all {
		// A run held by its provider's block is what the test waits
		// through, so it does not keep the scheduler busy.
		if st, ok := e.sched.State(c.ID); ok && (st.Running || st.Queued) && !blocks[c.Name] {
			return true
		}
	}
	return false
}

// until advances the clock a tick at a time up to t and returns, in order,
// "HH:MM name" for every run that finished on the way.
func (e *schedEnv) until(t time.Time) []string {
	e.t.Helper()
	var got []string
	for e.clock.Now().Before(t) {
		e.clock.advance(time.Minute)
		now := e.clock.Now()
		e.idle()
		for len(e.runs) > 0 {
			got = append(got, now.UTC().Format("01-02 15:04")+" "+<-e.runs)
		}
	}
	sort.Strings(got)
	return got
}

func conn(name string, r connector.Repeats, at string, created time.Time) connector.Config {
	c := connector.New(okta.Spec, created)
	c.Name, c.URL, c.Schedule.Repeats, c.Schedule.StartTime = name, "https://x.okta.com", r, at
	return c
}

var day0 = time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC) // a Monday

func TestSchedulerRunsOnTime(t *testing.T) {
	daily := conn("daily", connector.Daily, "02:00", day0)
	hourly := conn("hourly", connector.Hourly, "00:30", day0)
	inactive := conn("inactive", connector.Hourly, "00:10", day0)
	inactive.Active = false
	elsewhere := conn("elsewhere", connector.Hourly, "00:20", day0)
	elsewhere.Server = "Branch"
	e := newSchedEnv(t, day0, daily, hourly, inactive, elsewhere)
	e.start()
	got := e.until(day0.Add(3 * time.Hour))
	want := []string{"06-01 01:30 hourly", "06-01 02:00 daily", "06-01 02:30 hourly", "06-01 03:30 hourly"}
	if !equal(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for _, c := range []connector.Config{inactive, elsewhere} {
		if st, _ := e.sched.State(c.ID); !st.NextRun.IsZero() {
			t.Errorf("%s has a next run (%s); it must never run on schedule here", c.Name, st.NextRun)
		}
	}
	if st, _ := e.sched.State(daily.ID); !st.NextRun.Equal(time.Date(2026, 6, 2, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("daily next run %s", st.NextRun)
	}
}

func TestSchedulerCatchesUpOnceAfterDowntime(t *testing.T) {
	c := conn("daily", connector.Daily, "02:00", day0.AddDate(0, 0, -10))
	e := newSchedEnv(t, day0, c) // 01:00: the last run was days ago
	if err := e.db.Update(func(tx *store.Tx) error {
		return tx.AddRun(c.ID, store.Run{ID: "r_old", Start: day0.AddDate(0, 0, -4), Result: "ok"})
	}); err != nil {
		t.Fatal(err)
	}
	e.start()
	got := e.until(day0.Add(50 * time.Minute))
	if want := []string{"06-01 01:01 daily"}; !equal(got, want) {
		t.Fatalf("after four missed days: runs %v, want exactly one catch-up %v", got, want)
	}
	if got := e.until(day0.Add(26 * time.Hour)); !equal(got, []string{"06-01 02:00 daily", "06-02 02:00 daily"}) {
		t.Fatalf("then the regular slots: %v", got)
	}
}

func TestSchedulerTakesEditsWithoutRestart(t *testing.T) {
	c := conn("daily", connector.Daily, "02:00", day0)
	e := newSchedEnv(t, day0, c)
	e.start()
	c.Schedule.StartTime = "01:30"
	e.put(c)
	e.sched.Reload()
	got := e.until(day0.Add(3 * time.Hour))
	if want := []string{"06-01 01:30 daily"}; !equal(got, want) {
		t.Fatalf("after moving the start time: runs %v, want %v", got, want)
	}
	c.Active = false
	e.put(c)
	e.sched.Reload()
	if got := e.until(day0.Add(30 * time.Hour)); len(got) != 0 {
		t.Fatalf("an inactive connector ran: %v", got)
	}
	// Reactivated, it does not make up for the inactive time.
	c.Active = true
	e.put(c)
	e.sched.Reload()
	if got := e.until(day0.Add(49 * time.Hour)); !equal(got, []string{"06-03 01:30 daily"}) {
		t.Fatalf("after reactivation: %v", got)
	}
}

func TestSchedulerIsolatesAFailingAndASlowConnector(t *testing.T) {
	failing := conn("failing", connector.Hourly, "00:05", day0)
	slow := conn("slow", connector.Hourly, "00:06", day0)
	healthy := conn("healthy", connector.Hourly, "00:10", day0)
	e := newSchedEnv(t, day0, failing, slow, healthy)
	e.provs["failing"] = &stubProvider{fail: errors.New("okta: 500 (transient failure)")}
	block := make(chan struct{})
	e.provs["slow"] = &stubProvider{block: block, users: []engine.User{{ID: "u", Status: "ACTIVE", Raw: map[string]any{"id": "u"}}}}
	e.start()
	var got []string
	for e.clock.Now().Before(day0.Add(2*time.Hour + 11*time.Minute)) {
		e.clock.advance(time.Minute)
		now := e.clock.Now()
		deadline := time.Now().Add(5 * time.Second)
		for e.clock.waiting() < 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			f, _ := e.sched.State(failing.ID)
			h, _ := e.sched.State(healthy.ID)
			if !f.Running && !f.Queued && !h.Running && !h.Queued {
				break
			}
		}
		for len(e.runs) > 0 {
			got = append(got, now.Format("15:04")+" "+<-e.runs)
		}
	}
	// The slow one is still in its first run; the healthy one ran every hour
	// on time; the failing one retried within minutes, not hourly.
	healthyRuns, failures := 0, 0
	for _, g := range got {
		switch g[6:] {
		case "healthy":
			healthyRuns++
		case "failing":
			failures++
		case "slow":
			t.Errorf("the blocked run finished: %v", got)
		}
	}
	if healthyRuns != 3 {
		t.Errorf("healthy ran %d times, want 3 (01:10, 02:10, 03:10): %v", healthyRuns, got)
	}
	if failures < 4 {
		t.Errorf("failing connector ran %d times in two hours; it should retry with a backoff from a minute: %v", failures, got)
	}
	st, _ := e.sched.State(failing.ID)
	if st.Failures < 4 || st.RetryAt.IsZero() {
		t.Errorf("state of the failing connector: %+v", st)
	}
	if st, _ := e.sched.State(slow.ID); !st.Running {
		t.Error("the slow connector is not shown as running")
	}
	close(block)
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

// Stopping while one connector is in the middle of a run and another's
// batches cannot be delivered (the sink is down): the run is cancelled and
// recorded, the pushers get their bounded drain, and Run returns well
// within the 5 s Windows allows a service; the undelivered batch stays.
func TestSchedulerStopsPromptlyAndKeepsTheBacklog(t *testing.T) {
	fast := conn("fast", connector.Hourly, "00:01", day0)
	slow := conn("slow", connector.Hourly, "00:01", day0)
	e := newSchedEnv(t, day0, fast, slow)
	e.sched.Sink = downSink{}
	e.provs["slow"] = &stubProvider{block: make(chan struct{})}
	e.start()
	e.clock.advance(time.Minute)
	if got := <-e.runs; got != "fast" {
		t.Fatalf("first finished run: %s", got)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, _ := e.sched.State(slow.ID); st.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow run did not start")
		}
	}
	var queued int
	_ = e.db.View(func(tx *store.Tx) error { queued = tx.OutboxDepth(fast.ID); return nil })
	begin := time.Now()
	e.stop()
	if took := time.Since(begin); took > 4*time.Second {
		t.Errorf("stopping took %s", took)
	}
	_ = e.db.View(func(tx *store.Tx) error {
		if n := tx.OutboxDepth(fast.ID); n != queued || n == 0 {
			t.Errorf("fast's outbox holds %d batches after the stop, want its %d undelivered", n, queued)
		}
		runs, _ := tx.Runs(slow.ID, 1)
		if len(runs) != 1 || runs[0].Result != "cancelled" {
			t.Errorf("slow's run record: %+v", runs)
		}
		return nil
	})
}

// A run the provider's rate limit ended says when the budget comes back:
// the retry is then, not a minute later (another 429) nor at the next slot.
// A held run waits for an admin: no retry at all.
func TestSchedulerRetriesWhenTheRateLimitResets(t *testing.T) {
	limited := conn("limited", connector.Daily, "01:05", day0)
	held := conn("held", connector.Daily, "01:07", day0)
	// A provider's broken answer named a reset a century ahead: the retry
	// comes within the hour of the run's end all the same (the clock is at
	// most at 01:10 then).
	absurd := conn("absurd", connector.Daily, "01:05", day0)
	e := newSchedEnv(t, day0, limited, held, absurd)
	until := day0.Add(5*time.Minute + 40*time.Minute)
	e.provs["limited"] = &stubProvider{fail: &engine.RateLimitedError{Until: until, Err: errors.New("onelogin: 429 until later")}}
	e.provs["absurd"] = &stubProvider{fail: &engine.RateLimitedError{Until: day0.AddDate(100, 0, 0), Err: errors.New("onelogin: 429 until 2126")}}
	e.provs["held"] = &stubProvider{fail: &engine.HeldError{Count: 9, Why: "they exceed --max-deletes 10%"}}
	e.start()
	// The stubs' runs finish in real time, maybe after the tick that
	// started them was read: collect until both have come.
	got := strings.Join(e.until(day0.Add(10*time.Minute)), ",")
	for _, name := range []string{"held", "limited", "absurd"} {
		if !strings.Contains(got, name) {
			got += "," + e.await(name)
		}
	}
	if strings.Count(got, "limited") != 1 || strings.Count(got, "held") != 1 {
		t.Fatalf("runs %v", got)
	}
	st, _ := e.sched.State(limited.ID)
	if st.Failures != 1 || st.RetryAt.Before(until) || st.RetryAt.After(until.Add(30*time.Second)) {
		t.Fatalf("rate-limited connector: %d failures, retry at %s, the budget resets at %s", st.Failures, st.RetryAt, until)
	}
	if st, _ := e.sched.State(absurd.ID); st.Failures != 1 || st.RetryAt.After(day0.Add(10*time.Minute+engine.MaxRateLimitDelay+time.Minute)) {
		t.Fatalf("a rate limit announced to reset in 2126 parks the connector until %s", st.RetryAt)
	}
	if st, _ := e.sched.State(held.ID); st.Failures != 0 || !st.RetryAt.IsZero() || !st.NextRun.Equal(day0.Add(24*time.Hour+7*time.Minute)) {
		t.Fatalf("held connector: %+v", st)
	}
	// The budget comes back at the reset: the retry succeeds.
	e.mu.Lock()
	e.provs["limited"] = &stubProvider{users: []engine.User{{ID: "u1", Status: "ACTIVE", Raw: map[string]any{"id": "u1", "status": "ACTIVE"}}}}
	e.mu.Unlock()
	if got := e.until(until.Add(-time.Minute)); len(got) != 0 {
		t.Fatalf("runs before the reset: %v", got)
	}
	after := strings.Join(e.until(until.Add(3*time.Minute)), ",")
	if !strings.Contains(after, "limited") {
		after += e.await("limited")
	}
	if strings.Count(after, "limited") != 1 || strings.Contains(after, "held") {
		t.Fatalf("after the reset: runs %v", after)
	}
}

// await reads finished runs in real time until name's comes (or 10 s have
// passed) and returns the names read.
func (e *schedEnv) await(name string) string {
	var got []string
	deadline := time.After(10 * time.Second)
	for !slices.Contains(got, name) {
		select {
		case n := <-e.runs:
			got = append(got, n)
		case <-deadline:
			return strings.Join(got, ",")
		}
	}
	return strings.Join(got, ",")
}

// A clock that was a year ahead (a VM started before its clock was set,
// a wrong time server), then set right: runs were dated a year ahead, and
// the slots after them would have come a year later. The schedule goes on
// from the right time, and the next run is full, since the last full run's
// date cannot be trusted.
func TestSchedulerSurvivesAClockSetBack(t *testing.T) {
	c := conn("daily", connector.Daily, "02:00", day0)
	e := newSchedEnv(t, day0, c)
	e.start()
	if got := e.until(day0.Add(90 * time.Minute)); !equal(got, []string{"06-01 02:00 daily"}) {
		t.Fatalf("first day: %v", got)
	}
	const year = 365 * 24 * time.Hour
	e.clock.advance(year) // the clock runs ahead: the missed slots make one run
	e.idle()
	if got := e.until(e.clock.Now().Add(2 * time.Minute)); len(got) != 1 {
		t.Fatalf("with the clock ahead: %v, want one catch-up run", got)
	}
	e.clock.stepBack(year)
	e.idle()
	if got := e.until(day0.Add(26 * time.Hour)); !equal(got, []string{"06-02 02:00 daily"}) {
		t.Fatalf("after the clock was set back: runs %v, want the next day's slot", got)
	}
	var last store.Run
	if err := e.db.View(func(tx *store.Tx) error {
		runs, err := tx.Runs(c.ID, 1)
		if err == nil {
			last = runs[0]
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if last.Mode != "full" || !strings.Contains(last.ModeReason, "later than this computer's clock") {
		t.Errorf("the run after the set-back: %s (%s)", last.Mode, last.ModeReason)
	}
}

// A daemon started with another sink than the one its connectors delivered
// to (new settings: the CSV drop, then Neurons) resends to it at once, not
// at the next slot, up to a day away: its pusher holds the batches that
// waited until a run records the move (TestBatchesWaitForTheMoveToBeRecorded).
func TestSchedulerResendsToANewSinkAtOnce(t *testing.T) {
	c := conn("daily", connector.Daily, "02:00", day0.AddDate(0, 0, -10))
	e := newSchedEnv(t, day0, c) // 01:00, the last run an hour ago: no slot is due before 02:00
	if err := e.db.Update(func(tx *store.Tx) error {
		return errors.Join(tx.AddRun(c.ID, store.Run{ID: "r_old", Start: day0.Add(-time.Hour), Result: "ok"}),
			tx.PutSyncState(c.ID, store.SyncState{Sink: "the CSV drop in /old"}),
			tx.PutSnapshot(c.ID, "u1", store.Snapshot{Hash: [16]byte{1}, Status: "ACTIVE"}))
	}); err != nil {
		t.Fatal(err)
	}
	e.sched.Engine.Sink = "Neurons at https://new"
	e.start()
	if got := e.until(day0.Add(30 * time.Minute)); !equal(got, []string{"06-01 01:01 daily"}) {
		t.Fatalf("runs %v, want the resend to the new sink at once", got)
	}
	if got := e.until(day0.Add(26 * time.Hour)); !equal(got, []string{"06-01 02:00 daily", "06-02 02:00 daily"}) {
		t.Fatalf("then the regular slots: %v", got)
	}
}

// A run that the connector's removal (Hold) or the service's stop cuts
// short says which, where its caller was told "context canceled".
func TestARunCutShortSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(e *schedEnv, id string, request context.CancelCauseFunc)
		want string
	}{
		{"removed", func(e *schedEnv, id string, _ context.CancelCauseFunc) { e.sched.Hold(id) }, `connector "slow" is being removed, which stopped this run`},
		{"stopping", func(e *schedEnv, _ string, _ context.CancelCauseFunc) { e.stop() }, "the neurons-connector service is stopping, which stopped this run"},
		// The daemon's stop reaches the request (its HTTP context) before
		// the scheduler's shutdown: seen under a real systemd as "run
		// failed: context canceled".
		{"the request first", func(_ *schedEnv, _ string, request context.CancelCauseFunc) { request(api.ErrServiceStopping) },
			"the neurons-connector service is stopping, which stopped this run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := conn("slow", connector.Daily, "23:00", day0)
			e := newSchedEnv(t, day0, slow)
			e.provs["slow"] = &stubProvider{block: make(chan struct{})}
			e.start()
			request, cancelRequest := context.WithCancelCause(context.Background())
			defer cancelRequest(nil)
			done := make(chan error, 1)
			go func() {
				_, _, err := e.sched.RunNow(request, slow.ID, engine.RunFlags{}, nil)
				done <- err
			}()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				if st, _ := e.sched.State(slow.ID); st.Running {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the run did not start")
				}
			}
			tc.cut(e, slow.ID, cancelRequest)
			if err := <-done; err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A run that fails on a configuration error (the token refused) is not
// retried every half hour, which only fills the log until an admin acts:
// it waits hours, or until the connector is edited (a new token), when it
// goes at the next tick.
func TestAConfigurationErrorWaitsForTheAdmin(t *testing.T) {
	c := conn("refused", connector.Daily, "02:00", day0)
	e := newSchedEnv(t, day0, c)
	e.provs["refused"] = &stubProvider{fail: fault.Mark(errors.New("okta rejected the API token (HTTP 401 E0000011)"), fault.ErrConfig)}
	e.start()
	got := e.until(day0.Add(3 * time.Hour)) // 02:00 fails; no retry within the hour after
	if len(got) != 1 || !strings.HasPrefix(got[0], "06-01 02:0") || !strings.HasSuffix(got[0], " refused") {
		t.Fatalf("runs %v, want the 02:00 one only", got)
	}
	st, _ := e.sched.State(c.ID)
	failed := day0.Add(time.Hour) // 02:00, give or take the minutes a tick takes here
	if st.Failures != 1 || st.RetryAt.Before(failed.Add(engine.ConfigRetryLeast)) || st.RetryAt.After(failed.Add(engine.ConfigRetryMost+5*time.Minute)) {
		t.Fatalf("state after the failure: %+v", st)
	}

	// The admin sets a new token: the connector's record is updated.
	e.mu.Lock()
	e.provs["refused"] = nil
	e.mu.Unlock()
	c.Updated = e.clock.Now()
	e.put(c)
	e.sched.Reload()
	got = e.until(e.clock.Now().Add(2 * time.Minute))
	if len(got) != 1 || !strings.HasSuffix(got[0], " refused") {
		t.Fatalf("after the edit: runs %v, want one at once", got)
	}
	if st, _ := e.sched.State(c.ID); st.Failures != 0 {
		t.Errorf("after the edit the connector still fails: %+v", st)
	}
}
