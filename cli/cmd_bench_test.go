package cli

import (
	"context"
	"io"
	"regexp"
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
		`okta\s+neurons\s+300\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+300\s`,
		`okta\s+neurons\s+300\s+incremental\s`,
		`okta\s+csv\s+300\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+300\s`,
		`okta\s+csv\s+300\s+incremental\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+[1-9]`, // the second connector sees changes too
		`onelogin\s+neurons\s+300\s+full\s+[\d.]+s\s+\d+\s+[\d.]+ µs\s+300\s`,
		`onelogin\s+csv\s+300\s+incremental\s`,
		`Okta's rate limits enforced \(×1000\)`,
		`400\s+[\d.]+s\s+[\d.]+s\s+[\d.]+s\s+(yes|no)\s+\d+\s+\d+\s+0\s+\w+: \d+ calls`,
		`okta\s+\w+\s+300\s+incremental\s.*≤ \d+`, // the System Log bound
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("bench output lacks /%s/:\n%s", re, r.stdout)
		}
	}
}

// bench-serve stops when the parent closes its stdin, and on Ctrl-C or
// SIGTERM too: the signal context kept them from stopping it, so a
// bench-serve started by hand ran on after Ctrl-C.
func TestBenchServeStopsOnASignal(t *testing.T) {
	stdin, open := io.Pipe() // never closed
	defer func() { _ = open.Close() }()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"bench-serve", "--users", "10"}, Env{Stdin: stdin, Stdout: &out, Stderr: io.Discard,
			Lookup: func(string) (string, bool) { return "", false }, Now: time.Now, Local: time.UTC, Tables: builtinTables(), Drivers: testDrivers})
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), `"Okta":"http://127.0.0.1:`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bench-serve did not start: %q", out.String())
		}
	}
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
