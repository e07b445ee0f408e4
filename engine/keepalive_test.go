package engine_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin"
	"neurons-connector/secret"
	"neurons-connector/store"
)

// keepAliveWorld is a daemon's scheduler and a simulated Okta org on one
// manual clock, for a connector on a monthly schedule with an API token,
// which Okta revokes after 30 days unused.
type keepAliveWorld struct {
	t     *testing.T
	clock *manualClock
	sim   *oktatest.Server
	sched *engine.Scheduler
	conn  connector.Config
	mu    sync.Mutex
	runs  []string // each finished run: its result, and its error
}

func newKeepAliveWorld(t *testing.T, keepAlive, active bool) *keepAliveWorld {
	t.Helper()
	start := time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)
	w := &keepAliveWorld{t: t, clock: newManualClock(start)}
	w.sim = oktatest.New(oktatest.Options{Users: 20, Seed: 3, NoLimits: true, Clock: w.clock, Token: "monthly-token"})
	srv := w.sim.Start()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w.conn = conn("Okta monthly", connector.Monthly, "02:00", start) // the 1st of each month
	w.conn.URL, w.conn.Active = srv.URL, active
	if err := db.Update(func(tx *store.Tx) error { return tx.PutConnector(w.conn) }); err != nil {
		t.Fatal(err)
	}
	src, err := mapping.NewSource(connector.Specs{okta.Spec, onelogin.Spec}, os.DirFS("../mappings"), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := &engine.Engine{DB: db, Tables: mapping.NewKeeper(src), Clock: w.clock, Log: log, SpillDir: dir}
	w.sched = &engine.Scheduler{Engine: eng, Sink: nullSink{}, Server: connector.DefaultServer, Local: time.UTC,
		Tick: 4 * time.Hour, Poll: 24 * time.Hour,
		Provider: func(_ context.Context, c connector.Config) (engine.Provider, error) {
			return okta.New(okta.Options{BaseURL: c.URL, Token: secret.New([]byte("monthly-token")), Clock: w.clock, Logger: log})
		},
		Finished: func(_ connector.Config, r store.Run) {
			w.mu.Lock()
			w.runs = append(w.runs, r.Start.Format("01-02")+" "+r.Result+" "+r.Error)
			w.mu.Unlock()
		},
	}
	if keepAlive {
		w.sched.IdleLimit = okta.Driver.IdleLimit
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.sched.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return w
}

// until moves the clock four hours at a time to end (the scheduler's
// tick), letting the scheduler settle after each step (its loop asleep, no
// run or call under way).
func (w *keepAliveWorld) until(end time.Time) {
	w.t.Helper()
	for w.clock.Now().Before(end) {
		w.clock.advance(4 * time.Hour)
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := w.sched.State(w.conn.ID)
			if w.clock.waiting() >= 1 && !st.Running && !st.Queued && !st.KeepingAlive {
				break
			}
			if time.Now().After(deadline) {
				w.t.Fatalf("the scheduler did not settle at %s", w.clock.Now())
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
}

func (w *keepAliveWorld) finished() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.runs...)
}

// Okta revokes an API token unused for more than 30 days, and a monthly
// schedule leaves 31 days between the runs of July 1st and August 1st:
// without the daemon's keep-alive calls the August run fails on a revoked
// token (401 E0000011), and every later one too until an admin makes a new
// token. With them (Driver.IdleLimit), every run succeeds and each month
// costs a handful of calls to GET /api/v1/org.
func TestAMonthlyOktaConnectorKeepsItsTokenAlive(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC)

	without := newKeepAliveWorld(t, false, true)
	without.until(end)
	runs := without.finished()
	// The service retries a failed run every half hour or so: every one
	// after July's fails.
	if len(runs) < 3 || !strings.HasPrefix(runs[0], "06-01 ok") || !strings.HasPrefix(runs[1], "07-01 ok") ||
		!strings.HasPrefix(runs[2], "08-01 failed") || !strings.Contains(runs[2], "E0000011") ||
		!strings.Contains(runs[2], "Okta revokes a token unused for 30 days") || !without.sim.TokenRevoked() {
		t.Fatalf("without keep-alive calls, the first runs were %q (the August run should fail on the revoked token)", runs[:min(3, len(runs))])
	}
	for _, r := range runs[2:] {
		if strings.Fields(r)[1] == "ok" {
			t.Fatalf("a run succeeded on a revoked token: %q", r)
		}
	}

	with := newKeepAliveWorld(t, true, true)
	with.until(end)
	runs = with.finished()
	if len(runs) != 4 || with.sim.TokenRevoked() {
		t.Fatalf("with keep-alive calls, the runs were %q, the token revoked: %v", runs, with.sim.TokenRevoked())
	}
	for _, r := range runs {
		if strings.Fields(r)[1] != "ok" {
			t.Errorf("a run failed: %q", runs)
		}
	}
	calls := 0
	for _, r := range with.sim.Requests() {
		if strings.HasSuffix(r.URL, "/api/v1/org") && r.Status == 200 {
			calls++
		}
	}
	// Each run reads the org once (the tenant's identity); the calls
	// between runs come every 10 days: about two a month, never daily.
	if extra := calls - len(runs); extra < 4 || extra > 9 {
		t.Errorf("%d calls to /api/v1/org besides the runs' in three months", extra)
	}
}

// An inactive connector never runs on schedule, yet an admin who pauses
// one for a quarter expects it to work when resumed: its token is kept
// alive too.
func TestAnInactiveOktaConnectorKeepsItsTokenAlive(t *testing.T) {
	t.Parallel()
	w := newKeepAliveWorld(t, true, false)
	w.until(time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC))
	if runs := w.finished(); len(runs) != 0 || w.sim.TokenRevoked() {
		t.Fatalf("runs %q, token revoked: %v", runs, w.sim.TokenRevoked())
	}
	if st, _ := w.sched.State(w.conn.ID); st.CredentialUsed.Before(time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the token was last used %s", st.CredentialUsed)
	}
}

// A token Okta refuses already (revoked, or replaced) is tried once a day,
// not every hour: the log of a connector nobody runs stays readable.
func TestARefusedTokenIsTriedDaily(t *testing.T) {
	t.Parallel()
	w := newKeepAliveWorld(t, true, false)
	w.sim.ReplaceToken("a-token-the-connector-does-not-have")
	w.until(time.Date(2026, 7, 11, 1, 0, 0, 0, time.UTC)) // 40 days: due from the 10th, then daily
	refused := 0
	for _, r := range w.sim.Requests() {
		if strings.HasSuffix(r.URL, "/api/v1/org") && r.Status == 401 {
			refused++
		}
	}
	if refused < 25 || refused > 32 {
		t.Errorf("%d refused calls in 30 days", refused)
	}
}
