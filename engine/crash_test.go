package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin"
	"neurons-connector/secret"
	"neurons-connector/sink"
	"neurons-connector/sink/sinktest"
	"neurons-connector/store"
)

// TestMain lets the test binary play the connector in a child process that
// the crash test kills.
func TestMain(m *testing.M) {
	if os.Getenv("ENGINE_CRASH_CHILD") == "1" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild runs one sync to the end, as `neurons-connector run` would.
func crashChild() error {
	dir, oktaURL, sinkURL, connID := os.Getenv("CRASH_DIR"), os.Getenv("CRASH_OKTA"), os.Getenv("CRASH_SINK"), os.Getenv("CRASH_CONN")
	db, err := store.Open(filepath.Join(dir, store.FileName), store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	var c connector.Config
	if err := db.View(func(tx *store.Tx) error { c, err = tx.Connector(connID); return err }); err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	prov, err := okta.New(okta.Options{BaseURL: oktaURL, Token: secret.New([]byte("sim-token")), PageSize: 50, Logger: log})
	if err != nil {
		return err
	}
	s, err := sink.NewNeurons(sink.NeuronsOptions{URL: sinkURL, TokenURL: sinkURL + sinktest.TokenPath, ClientID: "sink-client",
		ClientSecret: secret.New([]byte("sink-secret")), UserAgent: "neurons-connector/crash"})
	if err != nil {
		return err
	}
	src, err := mapping.NewSource(connector.Specs{okta.Spec, onelogin.Spec}, os.DirFS("../mappings"), nil)
	if err != nil {
		return err
	}
	eng := &engine.Engine{DB: db, Tables: mapping.NewKeeper(src), Clock: clock.Real{}, Log: log, SpillDir: dir}
	p := engine.NewPusher(db, s, c.ID, clock.Real{}, log)
	stop := p.Start(context.Background())
	_, err = eng.Run(context.Background(), c, prov, engine.Options{Committed: p.Kick, Full: os.Getenv("CRASH_FULL") == "1"})
	if err == nil {
		err = p.Drain(context.Background(), time.Minute)
	}
	_ = stop()
	return err
}

// TestKilledMidRunDeliversExactlyOnce kills a child process running a sync
// with SIGKILL at random moments (during page commits, pushes, anything),
// in a full run, an incremental run, and an incremental run during a sink
// outage, restarts it, and checks that the sink ends holding exactly the
// source's users, each change applied once. CRASH_ITERATIONS raises the
// count per phase (CI runs 6; CRASH_ITERATIONS=50 is the long mode).
func TestKilledMidRunDeliversExactlyOnce(t *testing.T) {
	iterations := 6
	if v := os.Getenv("CRASH_ITERATIONS"); v != "" {
		_, _ = fmt.Sscan(v, &iterations)
	}
	dir := t.TempDir()
	sim := oktatest.New(oktatest.Options{Users: 4000, Seed: 7, Token: "sim-token", NoLimits: true})
	simSrv := sim.Start()
	defer simSrv.Close()
	fake := sinktest.New(sinktest.Options{})
	sinkSrv := fake.Start()
	defer sinkSrv.Close()
	db, err := store.Open(filepath.Join(dir, store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	c := connector.New(okta.Spec, time.Now())
	c.Name, c.URL, c.Statuses = "Crash", simSrv.URL, []string{"ACTIVE", "SUSPENDED"}
	if err := db.Update(func(tx *store.Tx) error { return tx.PutConnector(c) }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	full := "0"
	child := func(killAfter time.Duration) (killed bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ENGINE_CRASH_CHILD=1", "CRASH_DIR="+dir, "CRASH_OKTA="+simSrv.URL,
			"CRASH_SINK="+sinkSrv.URL, "CRASH_CONN="+c.ID, "CRASH_FULL="+full)
		out := &limitedBuffer{}
		cmd.Stderr = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if killAfter > 0 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("child failed: %v %s", err, out)
				}
				return false
			case <-time.After(killAfter):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				if err := <-done; err == nil {
					t.Log("the child had finished as it was killed")
				}
				return true
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("child failed: %v %s", err, out)
		}
		return false
	}
	phase := func(name string, within time.Duration) {
		kills := 0
		for range iterations {
			if child(time.Millisecond + time.Duration(rng.Int64N(int64(within)))) {
				kills++
			}
		}
		child(0) // let it finish
		t.Logf("%s: %d of %d children killed mid-run", name, kills, iterations)
	}
	check := func(edited map[string]bool) {
		t.Helper()
		want := map[string]bool{}
		for _, id := range sim.IDs(c.Statuses...) {
			want[id] = true
		}
		got := fake.Users(c.ID)
		if len(got) != len(want) {
			t.Fatalf("the sink holds %d users, the source %d", len(got), len(want))
		}
		for id, rec := range got {
			if !want[id] {
				t.Fatalf("the sink holds %s, which the source does not select", id)
			}
			times := 1
			if edited[id] {
				times = 2
			}
			if rec.Upserts != times {
				t.Fatalf("user %s applied %d times, want %d", id, rec.Upserts, times)
			}
		}
	}
	// Every child of this phase runs a full pass, so the kills land in full
	// runs (page commits, the final scan's deletes, pushes) and not in the
	// quick incremental runs that follow the first complete one.
	full = "1"
	phase("full run", 400*time.Millisecond)
	full = "0"
	check(nil)

	edited := map[string]bool{}
	active := sim.IDs("ACTIVE")
	for _, id := range active[:25] {
		_ = sim.EditProfile(id, map[string]any{"title": "Edited"})
		edited[id] = true
	}
	// Users nobody reports to leave the selection (a manager leaving it
	// would change its reports' records too: a further, legitimate change).
	leaves := sim.Leaves("ACTIVE")
	for _, id := range leaves[len(leaves)-5:] {
		_ = sim.SetStatus(id, "LOCKED_OUT")
	}
	phase("incremental run", 60*time.Millisecond) // an incremental run takes tens of milliseconds
	check(edited)

	// Changes found while the sink is down: every child is killed while
	// its batches wait (the pusher retrying), and the one that runs after
	// the outage delivers each change once.
	for _, id := range active[25:40] {
		_ = sim.EditProfile(id, map[string]any{"title": "Edited during the outage"})
		edited[id] = true
	}
	fake.Outage(true)
	for range iterations {
		child(time.Duration(20+rng.IntN(400)) * time.Millisecond)
	}
	fake.Outage(false)
	child(0)
	check(edited)
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 4096 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
