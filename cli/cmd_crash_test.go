package cli

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/sink/sinktest"
)

// The built program's `run`, killed with SIGKILL at random moments of full
// runs, incremental runs and runs during a sink outage, then run to the end:
// the sink holds exactly the source's selected users, each change applied
// once. CRASH_ITERATIONS sets the kills per phase (CI: 5; 50 is the long
// mode). engine/crash_test.go does the same below the command line.
func TestRunKilledAnywhereDeliversOnce(t *testing.T) {
	t.Parallel()
	iterations := 5
	if v := os.Getenv("CRASH_ITERATIONS"); v != "" {
		iterations, _ = strconv.Atoi(v)
	}
	sim, simURL, fake, dir, env := faultWorld(t, 8000, 11)
	cli := func(killAfter time.Duration, args ...string) bool { return runChild(t, env, killAfter, args...) }
	cli(0, "connector", "add", "okta", "--name", "Crash", "--url", simURL, "--token-env", "CRASH_TOKEN",
		"--user-status", "active,suspended")
	rng := rand.New(rand.NewPCG(3, 4))
	phase := func(name string, within time.Duration, args ...string) {
		kills := 0
		for range iterations {
			if cli(time.Millisecond+time.Duration(rng.Int64N(int64(within))), args...) {
				kills++
			}
		}
		t.Logf("%s: %d of %d runs killed", name, kills, iterations)
	}
	upserts := map[string]int{}
	check := func() {
		t.Helper()
		sinkIsExact(t, sim, fake, dir, upserts)
	}

	phase("full runs", 500*time.Millisecond, "run", "Crash", "--full")
	cli(0, "run", "Crash")
	check()

	active := sim.IDs("ACTIVE")
	for _, id := range active[:20] {
		_ = sim.EditProfile(id, map[string]any{"title": "Edited"})
		upserts[id]++
	}
	phase("incremental runs", 100*time.Millisecond, "run", "Crash")
	cli(0, "run", "Crash")
	check()

	for _, id := range active[20:30] {
		_ = sim.EditProfile(id, map[string]any{"title": "Edited while the sink was down"})
		upserts[id]++
	}
	fake.Outage(true)
	phase("runs during a sink outage", 2*time.Second, "run", "Crash")
	fake.Outage(false)
	cli(0, "run", "Crash")
	check()

	// Resends killed anywhere, then a plain run: it completes the resend
	// (every selected user applied at least once more, nothing else), and
	// the run after it sends nothing.
	before := fake.Users(clIDOf(t, dir))
	phase("resends", 500*time.Millisecond, "run", "Crash", "--resend")
	cli(0, "run", "Crash")
	after := fake.Users(clIDOf(t, dir))
	if len(after) != len(before) {
		t.Fatalf("after the resends the sink holds %d users, before %d", len(after), len(before))
	}
	if maps.EqualFunc(after, before, func(a, b sinktest.Record) bool { return a.Upserts == b.Upserts }) {
		// Every resend was killed before it recorded itself (the first
		// thing it writes, a few hundred milliseconds into a process on a
		// busy machine): nothing was owed, and the plain run rightly sent
		// nothing. Then a resend run to its end must send everyone.
		t.Log("every resend was killed before it recorded itself; resending once more, unkilled")
		cli(0, "run", "Crash", "--resend")
		after = fake.Users(clIDOf(t, dir))
	}
	for id, rec := range after {
		if rec.Upserts < before[id].Upserts+1 {
			t.Fatalf("user %s applied %d times, %d before the resend: left out", id, rec.Upserts, before[id].Upserts)
		}
	}
	cli(0, "run", "Crash")
	for id, rec := range fake.Users(clIDOf(t, dir)) {
		if rec.Upserts != after[id].Upserts {
			t.Fatalf("user %s sent again by the run after the completed resend", id)
		}
	}
}

// sinkIsExact fails t unless the sink holds exactly the source's active
// and suspended users, each applied once more than extra says it changed.
func sinkIsExact(t *testing.T, sim *oktatest.Server, fake *sinktest.Server, dir string, extra map[string]int) {
	t.Helper()
	want := map[string]bool{}
	for _, id := range sim.IDs("ACTIVE", "SUSPENDED") {
		want[id] = true
	}
	got := fake.Users(clIDOf(t, dir))
	if len(got) != len(want) {
		t.Fatalf("the sink holds %d users, the source selects %d", len(got), len(want))
	}
	for id, rec := range got {
		if !want[id] || rec.Upserts != 1+extra[id] {
			t.Fatalf("user %s: selected %v, applied %d times, want %d", id, want[id], rec.Upserts, 1+extra[id])
		}
	}
}

// runChild runs the program (this test binary as the CLI) with env and
// args; with killAfter set it sends SIGKILL then, unless the command ended
// before, and says whether it was killed. A command that fails on its own
// fails the test.
func runChild(t *testing.T, env []string, killAfter time.Duration, args ...string) (killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timeout <-chan time.Time
	if killAfter > 0 {
		timeout = time.After(killAfter)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return false
	case <-timeout:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if err := <-done; err == nil {
			return false // it had finished just before the signal
		}
		return true
	}
}

// faultWorld is an Okta simulator, the fake sink and a data directory, and
// the environment of the program's child processes against them.
func faultWorld(t *testing.T, users int, seed uint64) (*oktatest.Server, string, *sinktest.Server, string, []string) {
	t.Helper()
	sim := oktatest.New(oktatest.Options{Users: users, Seed: seed, Token: "crash-token", NoLimits: true})
	simSrv := sim.Start()
	t.Cleanup(simSrv.Close)
	fake := sinktest.New(sinktest.Options{ClientSecret: "crash-sink"})
	sinkSrv := fake.Start()
	t.Cleanup(sinkSrv.Close)
	dir := filepath.Join(t.TempDir(), "data")
	env := append(os.Environ(), "NC_TEST_AS_CLI=1", "NC_DATA_DIR="+dir, "NC_NEURONS_URL="+sinkSrv.URL,
		"NC_NEURONS_TOKEN_URL="+sinkSrv.URL+sinktest.TokenPath, "NC_NEURONS_CLIENT_ID=sink-client",
		"NC_NEURONS_CLIENT_SECRET=crash-sink", "CRASH_TOKEN=crash-token", "NC_LISTEN="+freeLoopback(t))
	return sim, simSrv.URL, fake, dir, env
}

// clIDOf reads the connector's ID from `connector list --json` output of
// the database, through the command tree in-process.
func clIDOf(t *testing.T, dir string) string {
	t.Helper()
	h := newHarness(t)
	h.env["NC_DATA_DIR"] = dir
	for _, c := range h.list() {
		return c.ID
	}
	t.Fatal("no connector")
	return ""
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// The same with the CSV drop: runs killed at random moments (mostly while
// batches are being journaled; the final merge of a tenant this small is
// too short to hit often, sink/csvmodel_test.go covers its crash points),
// then run to the end, leave a drop that holds exactly the selected users,
// once each, with their latest values.
func TestCSVDropRunKilledAnywhereIsExact(t *testing.T) {
	t.Parallel()
	iterations := 8
	if v := os.Getenv("CRASH_ITERATIONS"); v != "" {
		iterations, _ = strconv.Atoi(v)
	}
	sim, simURL, _, dir, env := faultWorld(t, 6000, 12)
	env = append(env, "NC_SINK=csv")
	run := func(killAfter time.Duration, args ...string) bool { return runChild(t, env, killAfter, args...) }
	run(0, "connector", "add", "okta", "--name", "Crash", "--url", simURL, "--token-env", "CRASH_TOKEN",
		"--user-status", "active,suspended")
	rng := rand.New(rand.NewPCG(5, 6))
	titles := map[string]string{}
	check := func() {
		t.Helper()
		rows := readCSV(t, filepath.Join(dir, "csv", "Crash-users.csv"))
		col := slices.Index(rows[0], "User.JobTitle")
		want := sim.IDs("ACTIVE", "SUSPENDED")
		got := map[string]bool{}
		for _, r := range rows[1:] {
			if got[r[0]] {
				t.Fatalf("user %s twice in the drop", r[0])
			}
			got[r[0]] = true
			if title, ok := titles[r[0]]; ok && r[col] != title {
				t.Fatalf("user %s: title %q, want %q", r[0], r[col], title)
			}
		}
		for _, id := range want {
			if !got[id] {
				t.Fatalf("user %s missing from the drop", id)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("the drop holds %d users, the source selects %d", len(got), len(want))
		}
	}
	for _, step := range []struct {
		args   []string
		within time.Duration
		edit   string
	}{
		{[]string{"run", "Crash", "--full"}, 600 * time.Millisecond, ""},
		{[]string{"run", "Crash"}, 100 * time.Millisecond, "Edited"},
		{[]string{"run", "Crash", "--full"}, 600 * time.Millisecond, "Edited again"},
	} {
		if step.edit != "" {
			for _, id := range sim.IDs("ACTIVE")[:25] {
				_ = sim.EditProfile(id, map[string]any{"title": step.edit})
				titles[id] = step.edit
			}
		}
		// Where the kills landed: with batches in the journal, or with a
		// merge or copy half-written (its temporary file left behind).
		kills, journaled, merging := 0, 0, 0
		for range iterations {
			if !run(50*time.Millisecond+time.Duration(rng.Int64N(int64(step.within))), step.args...) {
				continue
			}
			kills++
			state, _ := os.ReadDir(filepath.Join(dir, "csvstate"))
			drop, _ := os.ReadDir(filepath.Join(dir, "csv"))
			for _, e := range append(state, drop...) {
				switch {
				case strings.HasSuffix(e.Name(), ".journal"):
					journaled++
				case strings.HasPrefix(e.Name(), "."):
					merging++
				}
			}
		}
		t.Logf("%v: %d of %d runs killed, %d with batches journaled, %d mid-merge or copy", step.args, kills, iterations, journaled, merging)
		run(0, "run", "Crash")
		check()
	}
}
