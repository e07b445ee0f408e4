package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// listProvider serves fixed pages: the order and shape of users a test needs.
type listProvider struct{ pages [][]engine.User }

func (l *listProvider) Fetch(_ context.Context, _ engine.FetchRequest, page func([]engine.User) error) ([]byte, error) {
	for _, p := range l.pages {
		if err := page(p); err != nil {
			return nil, err
		}
	}
	return []byte(`{"v":1}`), nil
}

func oktaUser(id, first, email, managerID string) engine.User {
	p := map[string]any{"login": email, "email": email, "firstName": first, "lastName": "Test"}
	if managerID != "" {
		p["managerId"] = managerID
	}
	return engine.User{ID: id, Status: "ACTIVE", Raw: map[string]any{"id": id, "status": "ACTIVE", "profile": p}}
}

func TestManagerListedAfterItsReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, "ACTIVE")
	e.prov = &listProvider{pages: [][]engine.User{
		{oktaUser("00ureport1", "Rita", "rita@example.com", "00uboss"), oktaUser("00ureport2", "Raj", "raj@example.com", "00uboss")},
		{oktaUser("00uboss", "Bea", "bea@example.com", ""), oktaUser("00uother", "Olaf", "olaf@example.com", "00unobody")},
	}}
	r := e.mustRun(engine.Options{})
	users := e.fake.Users(e.conn.ID)
	for _, id := range []string{"00ureport1", "00ureport2"} {
		if got := users[id].Attributes["User.ManagerEmail"]; got != "bea@example.com" {
			t.Errorf("%s: manager e-mail %v", id, got)
		}
		if users[id].Upserts != 1 {
			t.Errorf("%s delivered %d times; a report listed before its manager must be queued once, complete", id, users[id].Upserts)
		}
	}
	if _, ok := users["00uother"].Attributes["User.ManagerEmail"]; ok || r.Upserted != 4 {
		t.Errorf("unknown manager: %v, upserted %d", users["00uother"].Attributes, r.Upserted)
	}
	// Nothing changed: the next run queues nothing, spilled users included.
	r = e.mustRun(engine.Options{})
	if r.Upserted != 0 {
		t.Errorf("second run upserted %d", r.Upserted)
	}
}

func TestBatchesRespectTheLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, "ACTIVE")
	var page []engine.User
	for i := range 2500 {
		u := oktaUser(fmt.Sprintf("00u%05d", i), "U", fmt.Sprintf("u%d@example.com", i), "")
		u.Raw["profile"].(map[string]any)["title"] = strings.Repeat("x", 3000) // about 7 MB in all
		page = append(page, u)
	}
	e.prov = &listProvider{pages: [][]engine.User{page}}
	e.mustRun(engine.Options{})
	total := 0
	for _, a := range e.fake.Accepted() {
		if a.Upserts+a.Deletes > sink.MaxRecords {
			t.Fatalf("a batch of %d records", a.Upserts+a.Deletes)
		}
		total += a.Upserts
		if a.Upserts > 0 && !a.Gzipped {
			t.Error("a large body was sent without gzip")
		}
	}
	if total != 2500 || len(e.fake.Accepted()) < 3 {
		t.Fatalf("%d upserts in %d batches", total, len(e.fake.Accepted()))
	}
}

func TestPusherFollowsTheResponseTable(t *testing.T) {
	cases := []struct {
		name  string
		fail  func(e *env)
		ok    bool
		check func(t *testing.T, e *env)
	}{
		{"429 with Retry-After", func(e *env) { e.fake.FailNext(2, 429, "7") }, true, func(t *testing.T, e *env) {
			if e.clock.Slept() < 14*time.Second {
				t.Errorf("slept %v; Retry-After asked for 7 s twice", e.clock.Slept())
			}
		}},
		{"503 burst", func(e *env) { e.fake.FailNext(4, 503, "") }, true, nil},
		{"502 and 504", func(e *env) { e.fake.FailNext(1, 502, ""); e.fake.FailNext(1, 504, "") }, true, nil},
		{"401 once: renew the token", func(e *env) { e.fake.ExpireTokens() }, true, func(t *testing.T, e *env) {
			if e.fake.TokenRequests() < 2 {
				t.Errorf("%d token requests", e.fake.TokenRequests())
			}
		}},
		{"413: split in halves", func(e *env) { e.fake.FailNext(1, 413, "") }, true, func(t *testing.T, e *env) {
			keys := map[string]bool{}
			for _, a := range e.fake.Accepted() {
				keys[a.Key] = true
			}
			halves := 0
			for k := range keys {
				if base, ok := strings.CutSuffix(k, ".1"); ok && keys[base+".2"] && !keys[base] {
					halves++
				}
			}
			if halves != 1 {
				t.Errorf("no batch was split into <key>.1 and <key>.2: %v", keys)
			}
		}},
		{"400: stop with the sink's message", func(e *env) { e.fake.FailNext(1, 400, "") }, false, nil},
		// Answers that say success without the contract's words: a wrong
		// NC_NEURONS_URL (a web application that answers every path with
		// its start page), a proxy's page, an impostor. The batch is not
		// delivered, so it must stay.
		{"200 with a web page", func(e *env) {
			e.fake.AnswerNext(1, 200, "text/html", "<!doctype html><title>Ivanti Neurons</title><div id=app></div>")
		}, false, nil},
		{"202 with JSON that is not an acceptance", func(e *env) { e.fake.AnswerNext(1, 202, "application/json", `{"status":"queued"}`) }, false, nil},
		{"200 with an empty body", func(e *env) { e.fake.AnswerNext(1, 200, "application/json", " ") }, false, nil},
		{"409 from something else", func(e *env) { e.fake.AnswerNext(1, 409, "text/html", "<h1>409 Conflict</h1>") }, false, nil},
		{"403: a configuration error", func(e *env) { e.fake.FailNext(1, 403, "") }, false, nil},
		{"401 twice: a configuration error", func(e *env) { e.fake.FailNext(2, 401, "") }, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 80, "ACTIVE")
			e.mustRun(engine.Options{}) // a token and a snapshot
			e.clock.Advance(time.Hour)
			for _, id := range e.sim.IDs("ACTIVE")[:3] {
				_ = e.sim.EditProfile(id, map[string]any{"title": "x"})
			}
			tc.fail(e)
			_, err := e.run(engine.Options{})
			if tc.ok {
				if err != nil {
					t.Fatalf("push failed: %v", err)
				}
				e.assertSinkIsTruth()
				if tc.check != nil {
					tc.check(t, e)
				}
				return
			}
			if err == nil || e.outbox() == 0 {
				t.Fatalf("err %v, outbox %d", err, e.outbox())
			}
			if !strings.Contains(err.Error(), "stays in the outbox") {
				t.Errorf("err %v", err)
			}
			// The rejected batch is still there after a restart.
			_ = e.db.Close()
			db, err := store.Open(e.db.Path(), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			e.db = db
			if e.outbox() == 0 {
				t.Fatal("the rejected batch was lost")
			}
			// Once the sink accepts again, it goes through.
			p := engine.NewPusher(db, e.sink, e.conn.ID, e.clock, slog.New(slog.DiscardHandler))
			stop := p.Start(context.Background())
			err = p.Drain(context.Background(), time.Minute)
			_ = stop()
			if err != nil {
				t.Fatal(err)
			}
			e.assertSinkIsTruth()
		})
	}
}

// completingProvider returns one page of partial users and completes them
// on request, recording whom it was asked for.
type completingProvider struct {
	listProvider
	asked []string
}

func (c *completingProvider) Complete(_ context.Context, users []engine.User) error {
	for _, u := range users {
		c.asked = append(c.asked, u.ID)
		u.Raw["appLinks"] = []any{map[string]any{"label": "Completed App"}}
	}
	return nil
}

func TestPartialUsersAreSkippedOrCompleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, "ACTIVE")
	known, unknown := oktaUser("00uknown0", "Kim", "kim@example.com", ""), oktaUser("00unew000", "Ned", "ned@example.com", "")
	e.prov = &listProvider{pages: [][]engine.User{{known}}}
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Minute)
	known.Partial, unknown.Partial = true, true
	known.Raw["profile"].(map[string]any)["title"] = "must not be read: a partial user the engine knows is skipped"
	// Never delivered and not selected: completing it would cost API calls
	// for a user that produces nothing.
	staged := oktaUser("00ustaged", "Sam", "sam@example.com", "")
	staged.Status, staged.Partial = "STAGED", true
	p := &completingProvider{listProvider: listProvider{pages: [][]engine.User{{known, unknown, staged}}}}
	e.prov = p
	r := e.mustRun(engine.Options{})
	if r.Mode != "incremental" || r.Upserted != 1 || len(p.asked) != 1 || p.asked[0] != "00unew000" {
		t.Fatalf("mode %s, upserted %d, completed %v", r.Mode, r.Upserted, p.asked)
	}
	got := e.fake.Users(e.conn.ID)
	if apps := got["00unew000"].Attributes["User.AssignedApps"]; fmt.Sprint(apps) != "[Completed App]" {
		t.Errorf("the completed user's apps: %v", apps)
	}
	if _, ok := got["00uknown0"].Attributes["User.JobTitle"]; ok {
		t.Error("a known partial user was processed")
	}
}

// A maintenance page (or a broken gateway) that asks for a day, or for
// longer than any clock: the contract's backoff caps at 5 minutes, so the
// changes go within minutes of the sink's return, not a day after.
func TestPusherCapsALongRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 80, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	for _, id := range e.sim.IDs("ACTIVE")[:3] {
		_ = e.sim.EditProfile(id, map[string]any{"title": "x"})
	}
	e.fake.FailNext(1, 503, "86400")
	e.fake.FailNext(1, 503, "99999999999999")
	ctx := context.Background()
	p := engine.NewPusher(e.db, e.sink, e.conn.ID, e.clock, e.log)
	stop := p.Start(ctx)
	defer func() { _ = stop() }()
	if _, err := e.eng.Run(ctx, e.conn, e.prov, engine.Options{Committed: p.Kick}); err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(ctx, 2*time.Hour); err != nil { // the fake clock jumps by each wait
		t.Fatalf("drain: %v", err)
	}
	if s := e.clock.Slept(); s < 10*time.Minute || s > 11*time.Minute {
		t.Errorf("slept %v; two Retry-Afters past the 5-minute cap should cost 10 minutes", s)
	}
	e.assertSinkIsTruth()
}

// The batches waiting when a connector moves to another sink were queued
// for the one before: the first run towards the new sink records the move
// (store.LeaveSink) from them, so none may go before it has. A pusher
// started first (a run's, or the daemon's at a restart with new settings)
// used to send them at once, and the run then found an empty outbox and
// did not remember the users they delete as still held by the sink left
// (TestDeletesWaitingForASinkLeftReachItOnReturn failed under load).
func TestBatchesWaitForTheMoveToBeRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 60, "ACTIVE")
	e.eng.Sink = "Neurons at A"
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	edited := e.sim.IDs("ACTIVE")[0]
	_ = e.sim.EditProfile(edited, map[string]any{"title": "Queued for A"})
	if _, err := e.eng.Run(context.Background(), e.conn, e.prov, engine.Options{}); err != nil { // queued, not delivered
		t.Fatal(err)
	}
	before, _ := e.fake.Counts()

	e.eng.Sink = "Neurons at B"
	p := engine.NewPusher(e.db, e.sink, e.conn.ID, e.clock, e.log)
	p.SinkName = e.eng.Sink
	ctx := context.Background()
	stop := p.Start(ctx)
	p.Kick()
	if err := p.Drain(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.fake.Counts(); after != before {
		t.Fatalf("%d upserts went before the run towards the new sink recorded the move", after-before)
	}
	_ = stop()

	r := e.mustRun(engine.Options{})
	if !r.Resend || e.fake.Users(e.conn.ID)[edited].Attributes["User.JobTitle"] != "Queued for A" {
		t.Errorf("the run towards the new sink: resend %v, the edited title %v", r.Resend, e.fake.Users(e.conn.ID)[edited].Attributes["User.JobTitle"])
	}
	e.assertSinkIsTruth()
}

// A disk that fills while the service pushes: the sink has accepted a
// batch, and the commit that takes it out of the outbox is refused. The
// pusher used to stop there until the next run restarted it (a day, for a
// daily connector); it now tries the commit again until space is freed,
// without sending the batch again, and goes on by itself.
func TestADeliveryTheDiskCannotRecordIsRecordedOnceItCan(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 60, "ACTIVE")
	e.mustRun(engine.Options{})
	e.clock.Advance(time.Hour)
	for _, id := range e.sim.IDs("ACTIVE")[:3] {
		_ = e.sim.EditProfile(id, map[string]any{"title": "Written on a full disk"})
	}
	ctx := context.Background()
	if _, err := e.eng.Run(ctx, e.conn, e.prov, engine.Options{}); err != nil { // queued, not delivered
		t.Fatal(err)
	}
	var queued int
	_ = e.db.View(func(tx *store.Tx) error { queued = tx.OutboxDepth(e.conn.ID); return nil })
	if queued == 0 {
		t.Fatal("nothing queued")
	}
	before := e.fake.Answers()[http.StatusAccepted]

	var mu sync.Mutex
	full := true
	p := engine.NewPusher(e.db, e.sink, e.conn.ID, e.clock, e.log)
	p.SetCommit(func(fn func(*store.Tx) error) error {
		mu.Lock()
		defer mu.Unlock()
		if full {
			return &store.SpaceError{Path: "/data/neurons-connector.db", Why: "the disk that holds /data is full: free space on it", Err: syscall.ENOSPC}
		}
		return e.db.Update(fn)
	})
	stop := p.Start(ctx)
	defer func() { _ = stop() }()
	p.Kick()
	err := p.Drain(ctx, time.Minute) // the fake clock jumps by each wait
	if !errors.Is(err, engine.ErrBacklog) || !strings.Contains(err.Error(), "the database has refused to record a delivered batch for") ||
		!strings.Contains(err.Error(), "free space on it") {
		t.Fatalf("drain on a full disk: %v", err)
	}
	if p.Stopped() != nil {
		t.Fatalf("the pusher stopped: %v", p.Stopped())
	}
	if n, again := e.fake.Answers()[http.StatusAccepted]-before, e.fake.Answers()[http.StatusConflict]; n != 1 || again != 0 {
		t.Errorf("the first batch was accepted %d times and sent again %d times while its delivery could not be recorded; once is enough", n, again)
	}

	mu.Lock()
	full = false // space freed
	mu.Unlock()
	// The fake clock has run on by each wait, past any patience counted
	// from the first failure: this drain waits for the pusher's next try.
	if err := p.Drain(ctx, time.Duration(math.MaxInt64)); err != nil {
		t.Fatalf("drain once space is freed: %v", err)
	}
	if n, again := e.fake.Answers()[http.StatusAccepted]-before, e.fake.Answers()[http.StatusConflict]; n != queued || again != 0 {
		t.Errorf("%d batches accepted, %d sent again, for %d queued", n, again, queued)
	}
	e.assertSinkIsTruth()
}
