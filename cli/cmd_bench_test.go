package cli

import (
	"regexp"
	"testing"
)

// The benchmark command end to end on tiny tenants: both providers' rows,
// into the Neurons sink and the CSV drop, and the rate-limited run's row with its windowed ideal, target and no 429.
// The figures themselves are the README's business (make bench), not a
// test's; this checks that the command measures what it says.
func TestBenchPrintsBothTables(t *testing.T) {
	t.Setenv("NC_TEST_AS_CLI", "1") // the child processes are this test binary playing the program
	h := newHarness(t)
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
