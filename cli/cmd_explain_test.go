package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"neurons-connector/api"
	"neurons-connector/clock"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/settings"
	"neurons-connector/sink"
	"neurons-connector/store"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/explain golden files")

// golden compares out with testdata/explain/name (go test ./cli -run
// Explain -update rewrites it), the simulators' URLs and the connector's
// table path made stable first.
func golden(t *testing.T, name, out string) {
	t.Helper()
	out = regexp.MustCompile(`http://127\.0\.0\.1:\d+`).ReplaceAllString(out, "http://sim")
	out = regexp.MustCompile(`r_[0-9A-Z]{26}`).ReplaceAllString(out, "r_RUN") // run IDs end in random letters
	path := filepath.Join("..", "testdata", "explain", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil { //nolint:gosec // G703: the repository's own testdata
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cli -run Explain -update writes it)", err)
	}
	if string(want) != out {
		t.Errorf("explain output differs from %s (go test ./cli -run Explain -update after checking):\n%s", path, out)
	}
}

// A fixed clock makes the simulated records, and so the output, stable.
var explainT0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// explain on Okta: a selected user with apps and devices (golden), the
// same user by login and by e-mail, an unselected user the connector
// delivered (the delete a run would send), the outbox while the sink is
// down, and an unknown user (exit 2).
func TestExplainOktaUser(t *testing.T) {
	sim := oktatest.New(oktatest.Options{Users: 60, Seed: 9, Token: "00Sim-Token-Explain", NoLimits: true, Clock: clock.NewFake(explainT0)})
	srv := sim.Start()
	t.Cleanup(srv.Close)
	h := newHarness(t)
	h.withFakeSink("Sink-Secret-Explain")
	h.env["SIM_TOKEN"] = "00Sim-Token-Explain"
	h.mustRun("connector", "add", "okta", "--name", "Okta", "--url", srv.URL, "--token-env", "SIM_TOKEN", "--user-status", "active")
	h.mustRun("run", "Okta")
	var st api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Okta", "--json").stdout), &st); err != nil || st.LastRun == nil {
		t.Fatal(err)
	}
	active := sim.IDs("ACTIVE")
	id := active[0]
	r := h.mustRun("explain", "Okta", id)
	golden(t, "okta-selected.txt", r.stdout)
	if !strings.Contains(r.stdout, "Last sent by run "+st.LastRun.ID+", started 2026-11-23T10:00:00Z: delivered since") {
		t.Errorf("explain does not name the run that delivered the user (%s):\n%s", st.LastRun.ID, r.stdout)
	}
	for _, want := range []string{"User.AssignedApps", "User.DeviceTypes", "appLinks", "okta.csv (built in):", "Last queued: the same record"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain lacks %q", want)
		}
	}
	var x api.Explanation
	if err := json.Unmarshal([]byte(h.mustRun("explain", "Okta", id, "--json").stdout), &x); err != nil || x.SourceID != id || !x.Selected {
		t.Fatalf("--json: %v, %+v", err, x)
	}
	var login string
	_ = json.Unmarshal(x.Record, &struct {
		Profile struct{ Login *string } `json:"profile"`
	}{struct{ Login *string }{&login}})
	for _, key := range []string{login, strings.ToUpper(login)} {
		var byLogin api.Explanation
		if err := json.Unmarshal([]byte(h.mustRun("explain", "Okta", key, "--json").stdout), &byLogin); err != nil || byLogin.SourceID != id {
			t.Errorf("explain by %q: %v, %s", key, err, byLogin.SourceID)
		}
	}

	// Suspended since the run: not selected, and delivered: a run deletes it.
	if err := sim.SetStatus(active[1], "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	r = h.mustRun("explain", "Okta", active[1])
	golden(t, "okta-unselected.txt", r.stdout)
	if !strings.Contains(r.stdout, "a run would delete this user from Neurons (reason status-not-selected)") {
		t.Errorf("unselected user:\n%s", r.stdout)
	}
	// Changed at the provider: it differs from what was queued; and a
	// batch waiting in the outbox (gzipped, as the sink gets it) names it.
	if err := sim.EditProfile(active[2], map[string]any{"title": "Chief Explainer"}); err != nil {
		t.Fatal(err)
	}
	enqueueFor(t, h, x.Connector, active[2])
	r = h.mustRun("explain", "Okta", active[2])
	if !strings.Contains(r.stdout, `"Chief Explainer"`) || !strings.Contains(r.stdout, "Last queued: a different record") ||
		!regexp.MustCompile(`Outbox: waiting for the sink: upsert in batch (\d+), delete in batch \d+ \(deleted-at-source\)`).MatchString(r.stdout) {
		t.Errorf("a changed user with a batch waiting:\n%s", r.stdout)
	}

	// An e-mail two users share (and no one's login) names nobody: exit
	// 2, asking for the ID or login.
	if err := sim.EditProfile(active[4], map[string]any{"email": "shared@example.com"}); err != nil {
		t.Fatal(err)
	}
	sim.AddUser(map[string]any{"firstName": "Twin", "lastName": "Of", "login": "twin@example.com", "email": "shared@example.com"}, "ACTIVE")
	if r := h.run("explain", "Okta", "shared@example.com"); r.code != 2 || !strings.Contains(r.stderr, "more than one user has the e-mail") {
		t.Errorf("a shared e-mail: exit %d, %q", r.code, r.stderr)
	}

	r = h.run("explain", "Okta", "nobody@example.com")
	if r.code != 2 || !strings.Contains(r.stderr, `no user "nobody@example.com" at the provider`) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("unknown user: exit %d, %q", r.code, r.stderr)
	}
	if r := h.run("explain", "Nope", id); r.code != 2 {
		t.Errorf("unknown connector: exit %d", r.code)
	}
}

// enqueueFor puts a batch in the named connector's outbox that upserts
// and deletes sourceID, among padding that makes it large enough to be
// gzipped.
func enqueueFor(t *testing.T, h *harness, name, sourceID string) {
	t.Helper()
	var id string
	for _, c := range h.list() {
		if c.Name == name {
			id = c.ID
		}
	}
	b := sink.Batch{Upserts: []sink.Upsert{{SourceID: sourceID, Attributes: json.RawMessage(`{"User.JobTitle":"Chief Explainer"}`)}},
		Deletes: []sink.Delete{{SourceID: sourceID, Reason: "deleted-at-source"}}}
	for i := range 200 {
		b.Upserts = append(b.Upserts, sink.Upsert{SourceID: fmt.Sprintf("pad-%d", i), Attributes: json.RawMessage(`{"User.Notes":"` + strings.Repeat("x", 60) + `"}`)})
	}
	body, err := b.Body()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := sink.Pack(body)
	if err != nil || payload[0] != 'z' {
		t.Fatalf("pack: %v, %q", err, payload[:1])
	}
	db, err := store.Open(store.PathIn(h.dir), store.Options{Key: keyFunc(settings.Settings{DataDir: h.dir})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Update(func(tx *store.Tx) error {
		_, err := tx.Enqueue(id, id+":r_explain:1", b.Records(), payload)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// explain on OneLogin: a user whose manager the connector knows gets the
// manager's e-mail from the snapshot (golden), found by e-mail too.
func TestExplainOneLoginUserWithManager(t *testing.T) {
	sim := onelogintest.New(onelogintest.Options{Users: 80, Seed: 4, ClientID: "ol-explain", ClientSecret: "ol-explain-secret",
		HourlyLimit: -1, Clock: clock.NewFake(explainT0)})
	srv := sim.Start()
	t.Cleanup(srv.Close)
	h := newHarness(t)
	h.withFakeSink("Sink-Secret-Explain")
	h.env["OLX"] = "ol-explain-secret"
	h.mustRun("connector", "add", "onelogin", "--name", "OL", "--domain", srv.URL, "--client-id", "ol-explain",
		"--client-secret-env", "OLX", "--user-status", "active")
	h.mustRun("run", "OL")
	var managed api.Explanation
	for _, id := range sim.IDs(1) {
		var x api.Explanation
		if err := json.Unmarshal([]byte(h.mustRun("explain", "OL", strconv.FormatInt(id, 10), "--json").stdout), &x); err != nil {
			t.Fatal(err)
		}
		// A report whose manager has an e-mail and no phone: the golden
		// shows a manager's field read and one the manager lacks.
		var email, phone bool
		for _, e := range x.Targets {
			switch {
			case e.Target == "User.ManagerEmail" && len(e.Value) > 0:
				email = true
			case e.Target == "User.ManagerPhone" && len(e.Value) > 0:
				phone = true
			}
		}
		if email && !phone {
			managed = x
		}
		if managed.SourceID != "" {
			break
		}
	}
	if managed.SourceID == "" {
		t.Fatal("no active user with a manager the connector knows, who has no phone")
	}
	r := h.mustRun("explain", "OL", managed.SourceID)
	golden(t, "onelogin-manager.txt", r.stdout)
	// The manager suspended, so out of the selection and of the snapshot:
	// explain reads the manager from OneLogin, as a run does.
	var rec struct {
		Email   string `json:"email"`
		Manager any    `json:"manager_user_id"` // the simulator sends it as a string, OneLogin as a number
	}
	_ = json.Unmarshal(managed.Record, &rec)
	managerID, _ := strconv.ParseInt(fmt.Sprint(rec.Manager), 10, 64)
	if !sim.SetStatus(managerID, 2) {
		t.Fatalf("no manager %d", rec.Manager)
	}
	h.mustRun("run", "OL", "--full")
	var after api.Explanation
	if err := json.Unmarshal([]byte(h.mustRun("explain", "OL", managed.SourceID, "--json").stdout), &after); err != nil {
		t.Fatal(err)
	}
	for _, e := range after.Targets {
		if e.Target == "User.ManagerEmail" && len(e.Value) == 0 {
			t.Errorf("a manager outside the selection: User.ManagerEmail left empty (%s)", e.Why)
		}
	}
	email := rec.Email
	var byEmail api.Explanation
	if err := json.Unmarshal([]byte(h.mustRun("explain", "OL", email, "--json").stdout), &byEmail); err != nil || byEmail.SourceID != managed.SourceID {
		t.Errorf("explain by e-mail %q: %v, %q", email, err, byEmail.SourceID)
	}
}
