package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The demo end to end, in-process: every step succeeds, the sink report
// shows exactly the round of changes the demo made, and nothing is left
// behind (or, with --keep, the data directory is).
func TestDemo(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir on Unix
	t.Setenv("TMP", tmp)    // and on Windows
	h := newHarness(t)
	r := h.run("demo", "--users", "300")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	for _, want := range []string{
		"OK: Okta org", "OK: OneLogin account",
		"full run (first run) ok",
		"incremental run (changes since the last run) ok",
		"full run (asked for with --full) ok",
		"reason deleted-at-source",
		"NEXT RUN", "Okta demo", "OneLogin demo",
		// The deletion guard: the token without an admin role lists no
		// users; the run holds every delete, the check says why.
		`run held 215 deletes of "Okta demo": the full run listed no users while the connector has delivered 215`,
		`neurons-connector run "Okta demo" --confirm-deletes`,
		"lacks an admin role",
		// The same connector as an OAuth service app, with DPoP.
		`accepted the OAuth app 0oademoNeuronsConnector and can read users`,
		"full run (configuration changed) ok in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// What the round of changes must produce at the sink, run by run.
	for _, re := range []string{
		// Okta: 3 suspended + 1 deactivated, 5 titles, and the 4 active
		// reports of the users who left, now without their manager's e-mail.
		`run 2\s+incremental\s+1 new\s+9 updated\s+4 deleted \(4 status-not-selected\)`,
		// The run's line says why it upserted more users than it read.
		`incremental run \(changes since the last run\) ok in \S+: \d+ users read \(and 4 again: reports whose manager changed\), 10 upserted, 4 deleted`,
		// OneLogin: 2 suspended, and the deletion, from the event log
		`run 2\s+incremental\s+1 new\s+5 updated\s+3 deleted \(1 deleted-at-source, 2 status-not-selected\)`,
		`Okta demo \(okta\): the sink holds 215 users`, // the held run deleted nobody
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("demo report lacks /%s/:\n%s", re, out)
		}
	}
	// The full runs after it have nothing left to send: the reports were
	// brought up to date by the incremental run.
	if m := regexp.MustCompile(`run 3\s+full\s+\d+ new\s+\d+ updated`).FindString(out); m != "" {
		t.Errorf("the demo's later full run sent changes the incremental run left: %q", m)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the demo left %d entries in the temporary directory", len(left))
	}
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Error("the demo touched the caller's data directory")
	}

	r = h.run("demo", "--users", "100", "--keep")
	if r.code != 0 {
		t.Fatalf("demo --keep: exit %d\n%s", r.code, r.stderr)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 1 || !strings.Contains(r.stdout, "NC_DATA_DIR="+tmp) {
		t.Errorf("demo --keep: %d entries kept; output ends %q", len(left), r.stdout[max(0, len(r.stdout)-200):])
	}
}
