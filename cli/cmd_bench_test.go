package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmark command end to end on tiny tenants: both providers' rows,
// into the Neurons sink and the CSV drop, and the rate-limited run's row with its windowed ideal, target and no 429.
// The figures themselves are the README's business (make bench), not a
// test's; this checks that the command measures what it says.
func TestBenchPrintsBothTables(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["NC_TEST_AS_CLI"] = "1" // the child processes are this test binary playing the program
	r := h.run("bench", "--sizes", "300", "--sinks", "neurons,csv", "--limited", "400", "--limit-scale", "1000")
	if r.code != 0 {
		t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
	}
	for _, re := range []string{
		`okta\s+neurons\s+300\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+[\d.]+ µs\s+300\s`, // the run's CPU and the harness's beside it
		`okta\s+neurons\s+300\s+incremental\s`,
		`okta\s+csv\s+300\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+[\d.]+ µs\s+300\s`,
		`okta\s+csv\s+300\s+incremental\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+[\d.]+ µs\s+[1-9]`, // the second connector sees changes too
		`onelogin\s+neurons\s+300\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+[\d.]+ µs\s+300\s`,
		`onelogin\s+csv\s+300\s+incremental\s`,
		`Okta's rate limits enforced \(×1000\)`,
		`400\s+[\d.]+s\s+[\d.]+s\s+[\d.]+s\s+(yes|no)\s+\d+\s+\d+\s+0\s+\w+: \d+ calls`,
		`okta\s+\w+\s+300\s+incremental\s.*≤ \d+`, // the System Log bound
		`Okta org of 300 users: \d+ of 299 reports \(\d+ %\) listed before their managers, as in a real org`,
		`Okta org of 400 users: \d+ of 399 reports \(\d+ %\) listed before their managers, as in a real org`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("bench output lacks /%s/:\n%s", re, r.stdout)
		}
	}
}

// By default the org bench measures lists about half the reports before
// their managers, as a real org does, and bench says so; --managers-first
// lists every manager first, the simulator's org before issue 17, which
// the README's older figures were taken on.
func TestBenchSaysHowTheOrgListsItsReports(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["NC_TEST_AS_CLI"] = "1"
	r := h.run("bench", "--sizes", "500", "--providers", "okta", "--limited", "0")
	if r.code != 0 {
		t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`Okta org of 500 users: (\d+) of 499 reports \((\d+) %\) listed before their managers`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("bench does not say how its org lists reports:\n%s", r.stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n < 150 || n > 350 {
		t.Errorf("%s of 499 reports before their managers, want about half", m[1])
	}
	first := h.run("bench", "--sizes", "500", "--providers", "okta", "--limited", "0", "--managers-first")
	if first.code != 0 {
		t.Fatalf("bench --managers-first: exit %d: %s", first.code, first.stderr)
	}
	for _, out := range []string{r.stdout, first.stdout} {
		if !regexp.MustCompile(`okta\s+neurons\s+500\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+[\d.]+ µs\s+500\s`).MatchString(out) {
			t.Errorf("no full run of the 500 users:\n%s", out)
		}
	}
	if !strings.Contains(first.stdout, "Okta org of 500 users: every manager listed before its reports (--managers-first") {
		t.Errorf("bench --managers-first does not say its org lists every manager first:\n%s", first.stdout)
	}
}

// bench-serve stops when the parent closes its stdin, and on Ctrl-C or
// SIGTERM too: the signal context kept them from stopping it, so a
// bench-serve started by hand ran on after Ctrl-C.
func TestBenchServeStopsOnASignal(t *testing.T) {
	cancel, done, _ := startBenchServe(t, func(string) (string, bool) { return "", false })
	cancel() // as the signal context is on Ctrl-C
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bench-serve ran on after its context ended")
	}
}

// startBenchServe runs bench-serve in this process, with flags added to
// its own, until the returned cancel, which done then reports the exit
// code of; urls is what it printed when ready.
func startBenchServe(t *testing.T, lookup func(string) (string, bool), flags ...string) (cancel func(), done chan int, urls benchURLs) {
	t.Helper()
	stdin, open := io.Pipe() // never closed
	t.Cleanup(func() { _ = open.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var out syncBuffer
	done = make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"bench-serve", "--users", "10"}, flags...), Env{Stdin: stdin, Stdout: &out, Stderr: io.Discard,
			Lookup: lookup, Now: time.Now, Local: time.UTC, Tables: builtinTables(), Drivers: testDrivers})
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), `"Okta":"http://127.0.0.1:`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bench-serve did not start: %q", out.String())
		}
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &urls); err != nil {
		t.Fatalf("bench-serve printed %q: %v", out.String(), err)
	}
	return cancel, done, urls
}

// --plain serves Okta's answers uncompressed to a client that asks for
// gzip, as a fake that ignores Accept-Encoding would: scripts/bench-lib.sh
// (PLAIN=1) measures the connector without inflating that way. Without
// it the simulator compresses, as Okta does. Not parallel: bench-serve
// sets the process's collector, and this puts it back.
func TestBenchServePlainAnswersUncompressed(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, c := range []struct {
		flags []string
		want  string
	}{{nil, "gzip"}, {[]string{"--plain"}, ""}} {
		cancel, done, urls := startBenchServe(t, func(string) (string, bool) { return "", false }, c.flags...)
		req, err := http.NewRequest(http.MethodGet, urls.Okta+"/api/v1/users?limit=5", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "SSWS "+benchToken)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand, so the transport leaves the body as sent
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != c.want {
			t.Errorf("bench-serve %v: users page answered %d with Content-Encoding %q, want 200 with %q",
				c.flags, resp.StatusCode, resp.Header.Get("Content-Encoding"), c.want)
		}
		cancel()
		<-done
	}
}

// bench-serve sets a soft memory limit of its own instead of the one main
// gives every command (128 MiB), unless GOMEMLIMIT sets one: edited
// million-user tenants hold more than that, and under it the harness's
// collector ran without pause beside the runs bench measured. Not
// parallel: it changes the process's collector settings, and puts them
// back.
func TestBenchServeLiftsTheSoftMemoryLimit(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, c := range []struct {
		name string
		env  map[string]string
		want int64
	}{
		{"GOMEMLIMIT unset", nil, benchServeMemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "128MiB"}, 128 << 20},
	} {
		debug.SetMemoryLimit(128 << 20) // as main does for every command
		cancel, done, _ := startBenchServe(t, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%s: bench-serve runs with a soft memory limit of %d bytes, want %d", c.name, got, c.want)
		}
		cancel()
		<-done
	}
}

// The harness's CPU is the OS's account of this process, so work done
// shows in it.
func TestProcessCPUCountsWorkDone(t *testing.T) {
	before := processCPU()
	if before <= 0 {
		t.Fatalf("processCPU() = %v at a test's start; want the time already spent", before)
	}
	x := uint64(1)
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		for range 1000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if after := processCPU(); after <= before {
		t.Fatalf("processCPU() went from %v to %v over 50 ms of work (%d)", before, after, x)
	}
}
