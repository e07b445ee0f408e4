package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/api"
)

// The deletion guard from the command line: a held run exits 1 with one
// line that names the count, the reason and the way out; status (table,
// detail and JSON) shows the held deletes; --confirm-deletes lets a held
// mass delete through once.
func TestHeldRunsFromTheCommandLine(t *testing.T) {
	t.Parallel()
	h, sim, fake := withSim(t, 400)
	h.mustRun("run", "Sim")
	id := connID(t, h)
	delivered := len(fake.Users(id))

	sim.SetNoAdmin(true)
	r := h.run("run", "Sim", "--full")
	if r.code != 1 {
		t.Fatalf("run without the admin role: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	for _, want := range []string{"run held " + strconv.Itoa(delivered) + " deletes of \"Sim\"", "listed no users",
		`neurons-connector connector test "Sim"`, `neurons-connector run "Sim" --confirm-deletes`} {
		if !strings.Contains(last, want) {
			t.Errorf("the error line lacks %q: %s", want, last)
		}
	}
	if n := len(fake.Users(id)); n != delivered {
		t.Fatalf("the sink holds %d users after a held run, not %d", n, delivered)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.HeldDeletes != delivered || st.Hold == nil || !strings.Contains(st.Hold.Why, "listed no users") ||
		st.LastRun.Result != "held" || st.LastRun.Held != delivered || !strings.Contains(st.Hold.Confirm, "--confirm-deletes") {
		t.Fatalf("status --json: held %d, hold %+v, last run %+v", st.HeldDeletes, st.Hold, st.LastRun)
	}
	table := h.mustRun("status").stdout
	if !strings.Contains(table, "HELD") || !strings.Contains(table, " held ") {
		t.Errorf("status table:\n%s", table)
	}
	if detail := h.mustRun("status", "Sim").stdout; !strings.Contains(detail, "Held deletes:") ||
		!strings.Contains(detail, strconv.Itoa(delivered)+", since") {
		t.Errorf("status Sim:\n%s", detail)
	}
	if r := h.run("connector", "test", "Sim"); r.code != 1 || !strings.Contains(r.stderr, "lacks an admin role") {
		t.Errorf("connector test without the admin role: %d %s", r.code, r.stderr)
	}

	// The role is back, then half the users are deactivated at once: held
	// again, until confirmed.
	sim.SetNoAdmin(false)
	active := sim.IDs("ACTIVE")
	for _, u := range active[:len(active)/2] {
		if err := sim.SetStatus(u, "DEPROVISIONED"); err != nil {
			t.Fatal(err)
		}
	}
	h.now = h.now.Add(10 * time.Minute)
	if r := h.run("run", "Sim"); r.code != 1 || !strings.Contains(r.stderr, "exceed --max-deletes 10%") {
		t.Fatalf("mass deactivation: exit %d: %s", r.code, r.stderr)
	}
	if r := h.run("run", "Sim", "--confirm-deletes"); r.code != 0 || !strings.Contains(r.stderr, "deletes confirmed") {
		t.Fatalf("confirmed: exit %d: %s", r.code, r.stderr)
	}
	if got, want := len(fake.Users(id)), len(sim.IDs("ACTIVE", "SUSPENDED")); got != want {
		t.Fatalf("after confirming the sink holds %d users, want %d", got, want)
	}
	var after api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &after); err != nil || after.HeldDeletes != 0 || after.Hold != nil {
		t.Fatalf("still held: %d %+v %v", after.HeldDeletes, after.Hold, err)
	}
}

func TestMaxDeletesOption(t *testing.T) {
	h := newHarness(t)
	h.addOkta("Okta prod", "--max-deletes", "25")
	if v := h.list()[0]; v.MaxDeletes != "25" {
		t.Fatalf("maxDeletes %q", v.MaxDeletes)
	}
	h.mustRun("connector", "edit", "Okta prod", "--max-deletes", "none")
	if v := h.list()[0]; v.MaxDeletes != "none" {
		t.Fatalf("maxDeletes after edit %q", v.MaxDeletes)
	}
	if out := h.mustRun("connector", "show", "Okta prod").stdout; !strings.Contains(out, "Max deletes:") || !strings.Contains(out, "none") {
		t.Errorf("show:\n%s", out)
	}
	h.addOkta("Defaults")
	for _, v := range h.list() {
		if v.Name == "Defaults" && v.MaxDeletes != "10%" {
			t.Errorf("default maxDeletes %q", v.MaxDeletes)
		}
	}
}

// Held deletes live in the database: a daemon that restarts still shows
// them, in status and in /metrics.
func TestHeldDeletesSurviveADaemonRestart(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	serve, _, exited := e.serve()
	e.mustCLI("connector", "add", "okta", "--name", "Okta", "--url", e.oktaU, "--token-env", "OKTA_TOKEN", "--inactive")
	e.mustCLI("run", "Okta")
	e.okta.SetNoAdmin(true)
	if r := e.cli("run", "Okta", "--full"); r.code != 1 || !strings.Contains(r.stderr, "run held") {
		t.Fatalf("held run through the daemon: %d %s", r.code, r.stderr)
	}
	if body := e.metrics(); !strings.Contains(body, `neurons_connector_runs_total{connector="Okta",mode="full",result="held"} 1`) {
		t.Errorf("/metrics lacks the held run")
	}
	e.stop(serve, exited)

	serve, _, exited = e.serve()
	defer e.stop(serve, exited)
	v := e.statuses()[0]
	if v.Daemon == nil || v.HeldDeletes == 0 || v.Hold == nil || v.LastRun.Result != "held" {
		t.Fatalf("status after the restart: held %d, hold %+v, daemon %v", v.HeldDeletes, v.Hold, v.Daemon != nil)
	}
	want := `neurons_connector_held_deletes{connector="Okta",type="okta"} ` + strconv.Itoa(v.HeldDeletes)
	if body := e.metrics(); !strings.Contains(body, want) {
		t.Errorf("/metrics after the restart lacks %s", want)
	}
}

// metrics reads /metrics, which needs no credential.
func (e *daemonEnv) metrics() string {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+e.listen+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
