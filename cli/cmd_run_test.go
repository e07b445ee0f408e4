package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"neurons-connector/api"
	"neurons-connector/providers/okta/oktatest"
	"neurons-connector/sink/sinktest"
)

// withSim adds an Okta connector "Sim" on a simulator and points the
// settings at a fake sink.
func withSim(t *testing.T, users int) (*harness, *oktatest.Server, *sinktest.Server) {
	t.Helper()
	sim := oktatest.New(oktatest.Options{Users: users, Seed: 5, Token: "00Sim-Token-Run", NoLimits: true})
	simSrv := sim.Start()
	t.Cleanup(simSrv.Close)
	h := newHarness(t)
	fake := h.withFakeSink("Sink-Secret-Run")
	h.env["SIM_TOKEN"] = "00Sim-Token-Run"
	h.mustRun("connector", "add", "okta", "--name", "Sim", "--url", simSrv.URL, "--token-env", "SIM_TOKEN", "--user-status", "active,suspended")
	return h, sim, fake
}

// withFakeSink starts a fake Neurons sink that takes the client secret
// given, and points the harness's settings at it.
func (h *harness) withFakeSink(clientSecret string) *sinktest.Server {
	h.t.Helper()
	fake := sinktest.New(sinktest.Options{ClientSecret: clientSecret})
	srv := fake.Start()
	h.t.Cleanup(srv.Close)
	h.env["NC_NEURONS_URL"] = srv.URL
	h.env["NC_NEURONS_TOKEN_URL"] = srv.URL + sinktest.TokenPath
	h.env["NC_NEURONS_CLIENT_ID"] = "sink-client"
	h.env["NC_NEURONS_CLIENT_SECRET"] = clientSecret
	return fake
}

// run --resend sends every selected user again and says so, in its
// summary and in status.
func TestRunResend(t *testing.T) {
	h, sim, fake := withSim(t, 120)
	h.mustRun("run", "Sim")
	want := len(sim.IDs("ACTIVE", "SUSPENDED"))
	r := h.mustRun("run", "Sim", "--resend")
	if !strings.Contains(r.stderr, "full run (resend of every selected user) ok") ||
		!strings.Contains(r.stderr, fmt.Sprintf("%d upserted, 0 deleted", want)) {
		t.Errorf("summary: %q", r.stderr)
	}
	for id, u := range fake.Users(connID(t, h)) {
		if u.Upserts != 2 {
			t.Fatalf("user %s applied %d times", id, u.Upserts)
		}
	}
	if r := h.mustRun("status", "Sim"); !strings.Contains(r.stdout, "(a resend: every selected user sent again)") {
		t.Errorf("status:\n%s", r.stdout)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &st); err != nil || st.LastRun == nil || !st.LastRun.Resend {
		t.Errorf("status --json: %+v, %v", st.LastRun, err)
	}
}

func connID(t *testing.T, h *harness) string {
	t.Helper()
	return h.list()[0].ID
}

func TestRunDeliversAndStatusShowsIt(t *testing.T) {
	h, sim, fake := withSim(t, 300)
	r := h.run("run", "Sim")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "full run (first run) ok") {
		t.Errorf("summary: %q", r.stderr)
	}
	id := connID(t, h)
	want := len(sim.IDs("ACTIVE", "SUSPENDED"))
	if got := len(fake.Users(id)); got != want {
		t.Fatalf("sink holds %d users, want %d", got, want)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.LastRun == nil || st.LastRun.Mode != "full" || st.LastRun.Upserted != want || st.LastRun.APICalls == 0 ||
		st.KnownUsers != want || st.Outbox != 0 || st.CursorSaved == nil {
		t.Errorf("status %+v, last run %+v", st, st.LastRun)
	}
	for _, out := range []string{r.stdout, r.stderr, h.mustRun("status", "--json").stdout} {
		if strings.Contains(out, "00Sim-Token-Run") || strings.Contains(out, "Sink-Secret-Run") {
			t.Fatal("a secret was printed")
		}
	}
	// A change at the source, seen first by a dry run that changes nothing.
	active := sim.IDs("ACTIVE")
	_ = sim.EditProfile(active[1], map[string]any{"title": "Dry Runner"})
	before := h.snapshot()
	dry := h.mustRun("run", "Sim", "--dry-run")
	var line struct {
		Upsert     string         `json:"upsert"`
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal([]byte(strings.Split(dry.stdout, "\n")[0]), &line); err != nil || line.Upsert != active[1] ||
		line.Attributes["User.JobTitle"] != "Dry Runner" {
		t.Errorf("dry run printed %q (%v)", dry.stdout, err)
	}
	if after := h.snapshot(); len(before) != len(after) || before["neurons-connector.db"] != after["neurons-connector.db"] {
		t.Error("the dry run changed the data directory")
	}
	r = h.mustRun("run", "Sim")
	if !strings.Contains(r.stderr, "incremental run") || fake.Users(id)[active[1]].Attributes["User.JobTitle"] != "Dry Runner" {
		t.Errorf("incremental: %q", r.stderr)
	}
}

func TestRunWithTheSinkDownKeepsTheChanges(t *testing.T) {
	h, sim, fake := withSim(t, 80)
	fake.FailNext(1, 400, "")
	r := h.run("run", "Sim")
	if r.code != 1 || !strings.Contains(r.stderr, "changes wait in the outbox") {
		t.Fatalf("exit %d: %q", r.code, r.stderr)
	}
	var st api.Status
	_ = json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &st)
	if st.Outbox == 0 {
		t.Fatal("status shows no backlog")
	}
	// The sink accepts again: the next run delivers the backlog.
	h.mustRun("run", "Sim")
	if got, want := len(fake.Users(connID(t, h))), len(sim.IDs("ACTIVE", "SUSPENDED")); got != want {
		t.Fatalf("sink holds %d of %d", got, want)
	}
	// Removing keeps working, and --purge first deletes from the sink.
	r = h.mustRun("connector", "remove", "Sim", "--purge")
	if len(fake.Users(connID2(fake))) != 0 || !strings.Contains(r.stdout, "Removed okta connector") {
		t.Errorf("purge left %d users", len(fake.Users(connID2(fake))))
	}
}

// connID2 finds the one connector the fake sink knows.
func connID2(fake *sinktest.Server) string {
	for _, a := range fake.Accepted() {
		return a.Connector
	}
	return ""
}

// withSimIntoCSV is withSim with the CSV drop as the sink, writing to a
// folder of its own, which it returns.
func withSimIntoCSV(t *testing.T, users int) (*harness, *oktatest.Server, string) {
	t.Helper()
	h, sim, _ := withSim(t, users)
	dir := t.TempDir()
	h.env["NC_SINK"], h.env["NC_CSV_DIR"] = "csv", dir
	return h, sim, dir
}

func TestRunIntoTheCSVDrop(t *testing.T) {
	h, sim, dir := withSimIntoCSV(t, 60)
	h.mustRun("run", "Sim")
	rows := readCSV(t, filepath.Join(dir, "Sim-users.csv"))
	if len(rows)-1 != len(sim.IDs("ACTIVE", "SUSPENDED")) || rows[0][0] != "SourceID" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0][:3])
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	if _, ok := col["User.AssignedApps"]; !ok {
		t.Fatal("no User.AssignedApps column")
	}
	if apps := rows[1][col["User.AssignedApps"]]; !strings.Contains(apps, "Google Workspace; ") && apps != "Google Workspace" {
		t.Errorf("list values are joined with '; ': %q", apps)
	}
}

// A drop that cannot be written (here a file where its folder should be;
// on a Windows server, most often the drop open in Excel) keeps the run's
// closing batch in the outbox, and with it every change of the run from
// the drop. The command says so, where it said "0 changes wait in the
// outbox" (the changes themselves had reached the drop's journal); the run
// after it, the folder back, writes every user.
func TestADropThatCannotBeWrittenSaysSo(t *testing.T) {
	h, sim, drops := withSimIntoCSV(t, 60)
	dir := filepath.Join(drops, "csv")
	h.env["NC_CSV_DIR"] = dir
	// The 30 s a run goes on trying the sink, in a fraction of a second.
	h.env[testClockVar] = h.now.Format(time.RFC3339) + "*300"
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.run("run", "Sim")
	want := "the run's closing batch, which tells the sink that the run is complete (the CSV drop is written when it arrives), " +
		"waits in the outbox and will be delivered by the next run or the service: the sink has failed for"
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "CSV drop: write the drop: mkdir "+dir) ||
		strings.Contains(r.stderr, "0 changes") || strings.Contains(r.stderr, "changes are waiting") {
		t.Fatalf("exit %d: %q", r.code, r.stderr)
	}
	if st := h.mustRun("status", "Sim").stdout; !strings.Contains(st, "1 batch waiting for the sink") {
		t.Errorf("status:\n%s", st)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim")
	if rows := readCSV(t, filepath.Join(dir, "Sim-users.csv")); len(rows)-1 != len(sim.IDs("ACTIVE", "SUSPENDED")) {
		t.Errorf("the drop holds %d users of %d", len(rows)-1, len(sim.IDs("ACTIVE", "SUSPENDED")))
	}
}

// Removing a connector removes what the CSV drop keeps of it in the data
// directory (its users, as large as its drop, and a journal or temporary
// file an interrupted run left), which nothing would read again: they
// stayed for ever before. The drop stays, and so do other connectors'.
func TestRemovingAConnectorRemovesItsCSVState(t *testing.T) {
	h, _, drops := withSimIntoCSV(t, 40)
	h.mustRun("run", "Sim")
	state := filepath.Join(h.dir, "csvstate")
	id := connID(t, h)
	left := []string{id + ".journal", "." + id + ".csv.1234", "." + id + ".csv.runs.5678"}
	for _, name := range append(left, "c_other.csv", "c_other.journal") {
		if err := os.WriteFile(filepath.Join(state, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(state, id+".csv")); err != nil {
		t.Fatal(err)
	}
	r := h.mustRun("connector", "remove", "Sim")
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	entries, _ := os.ReadDir(state)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"c_other.csv", "c_other.journal"}) {
		t.Errorf("the state folder holds %q", names)
	}
	if _, err := os.Stat(filepath.Join(drops, "Sim-users.csv")); err != nil {
		t.Errorf("the drop: %v", err)
	}
}

// Renaming a connector renames its CSV drop at once: the users stayed
// under the old name before, a second, stale file the importer read, and
// no run wrote the new one until a user changed. Runs after it write the
// new name only.
func TestRenamingAConnectorRenamesItsDrop(t *testing.T) {
	h, sim, drops := withSimIntoCSV(t, 40)
	h.mustRun("run", "Sim")
	before, err := os.ReadFile(filepath.Join(drops, "Sim-users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r := h.mustRun("connector", "edit", "Sim", "--name", "Sim prod")
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	if after, err := os.ReadFile(filepath.Join(drops, "Sim prod-users.csv")); err != nil || string(after) != string(before) {
		t.Errorf("the drop under the new name: %v", err)
	}
	if err := sim.EditProfile(sim.IDs("ACTIVE")[0], map[string]any{"title": "Renamed Engineer"}); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim prod")
	entries, _ := os.ReadDir(drops)
	if len(entries) != 1 || entries[0].Name() != "Sim prod-users.csv" {
		t.Fatalf("the drop folder holds %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(drops, "Sim prod-users.csv")); !strings.Contains(string(b), "Renamed Engineer") {
		t.Error("the run after the rename did not write the new name's drop")
	}
}

// A cursor saved later than the clock says now (the clock set back since
// the run) is shown as such, where status said "saved -1h0m0s ago".
func TestACursorFromAfterNowIsShownAsSuch(t *testing.T) {
	h, _, _ := withSim(t, 20)
	h.mustRun("run", "Sim")
	saved := h.now
	h.now = h.now.Add(-time.Hour)
	st := h.mustRun("status", "Sim").stdout
	want := "saved at " + saved.Format(time.RFC3339) + ", later than this computer's clock now (was the clock set back?)"
	if !strings.Contains(st, want) || strings.Contains(st, "saved -") {
		t.Errorf("status:\n%s", st)
	}
	h.now = saved.Add(90 * time.Second)
	if st := h.mustRun("status", "Sim").stdout; !strings.Contains(st, "saved 1m30s ago") {
		t.Errorf("status:\n%s", st)
	}
}

func TestBacklogWords(t *testing.T) {
	for _, tc := range []struct {
		res  api.RunResult
		want string
	}{
		{api.RunResult{Waiting: 35, WaitingBatches: 2}, "35 changes wait"},
		{api.RunResult{Waiting: 1, WaitingBatches: 1}, "1 change waits"},
		{api.RunResult{Waiting: 0, WaitingBatches: 1}, "the run's closing batch, which tells the sink that the run is complete"},
		{api.RunResult{Waiting: 0}, "0 changes wait"}, // an earlier daemon, which counts no batches
	} {
		if got := backlog(tc.res); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.res, got, tc.want)
		}
	}
}

// readCSV reads a CSV drop with encoding/csv.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A batch Neurons refuses (400) for a value stops delivery: run says so
// with the way out, status shows the refused batch, and once the value is
// right at the source, run --resend replaces it and delivery goes on.
func TestARefusedBatchAndTheWayPastIt(t *testing.T) {
	h, sim, fake := withSim(t, 80)
	h.mustRun("run", "Sim")
	bad := sim.IDs("ACTIVE")[0]
	fake.RejectValue("User.JobTitle", "N/A")
	if err := sim.EditProfile(bad, map[string]any{"title": "N/A"}); err != nil {
		t.Fatal(err)
	}
	r := h.run("run", "Sim")
	if r.code != 1 || !strings.Contains(r.stderr, "the sink refused a batch, and 1 change waits in the outbox behind it") ||
		!strings.Contains(r.stderr, `neurons-connector run "Sim" --resend`) || !strings.Contains(r.stderr, "sourceId "+bad) {
		t.Fatalf("exit %d, %q", r.code, r.stderr)
	}
	if st := h.mustRun("status", "Sim"); !strings.Contains(st.stdout, "Refused batch:") || !strings.Contains(st.stdout, "--resend") {
		t.Errorf("status:\n%s", st.stdout)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &st); err != nil || st.Refused == nil || st.Refused.Records != 1 {
		t.Errorf("status --json: %+v, %v", st.Refused, err)
	}
	if err := sim.EditProfile(bad, map[string]any{"title": "Analyst"}); err != nil {
		t.Fatal(err)
	}
	r = h.mustRun("run", "Sim", "--resend")
	if !strings.Contains(r.stderr, "which the sink refused, and the 1 batches behind it") {
		t.Errorf("the resend's summary: %q", r.stderr)
	}
	if got := fake.Users(connID(t, h))[bad].Attributes["User.JobTitle"]; got != "Analyst" {
		t.Errorf("title in the sink: %v", got)
	}
	if st := h.mustRun("status", "Sim"); strings.Contains(st.stdout, "Refused batch") {
		t.Errorf("status after the resend:\n%s", st.stdout)
	}
}

// The same through the daemon: its worker's pusher, stopped on the refused
// batch, delivers again once the resend has replaced it.
func TestARefusedBatchThroughTheDaemon(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	e.mustCLI("connector", "add", "okta", "--name", "Okta A", "--url", e.oktaU, "--token-env", "OKTA_TOKEN")
	serve, _, exited := e.serve()
	e.mustCLI("run", "Okta A")
	bad := e.okta.IDs("ACTIVE")[0]
	e.fake.RejectValue("User.JobTitle", "N/A")
	if err := e.okta.EditProfile(bad, map[string]any{"title": "N/A"}); err != nil {
		t.Fatal(err)
	}
	if r := e.cli("run", "Okta A"); r.code != 1 || !strings.Contains(r.stderr, "--resend") {
		t.Fatalf("exit %d, %q", r.code, r.stderr)
	}
	if m := e.metrics(); !strings.Contains(m, `neurons_connector_refused_batch_records{connector="Okta A",type="okta"} 1`) {
		t.Errorf("/metrics while the batch is refused:\n%s", m)
	}
	if err := e.okta.EditProfile(bad, map[string]any{"title": "Analyst"}); err != nil {
		t.Fatal(err)
	}
	e.mustCLI("run", "Okta A", "--resend")
	id := e.statuses()[0].ID
	if got := e.fake.Users(id)[bad].Attributes["User.JobTitle"]; got != "Analyst" || e.statuses()[0].Refused != nil {
		t.Errorf("after the resend: title %v, refused %+v", got, e.statuses()[0].Refused)
	}
	if m := e.metrics(); !strings.Contains(m, `neurons_connector_refused_batch_records{connector="Okta A",type="okta"} 0`) {
		t.Errorf("/metrics after the resend:\n%s", m)
	}
	e.stop(serve, exited)
}

// A sink that acknowledges fewer records than a batch held: run warns with
// the way to make it good, status shows it until a resend has.
func TestAShortAcknowledgementIsShown(t *testing.T) {
	h, sim, fake := withSim(t, 60)
	fake.DropNext(1, 2)
	r := h.mustRun("run", "Sim")
	if !strings.Contains(r.stderr, "warning: the sink acknowledged 2 fewer records than it was sent") || !strings.Contains(r.stderr, `run "Sim" --resend`) {
		t.Errorf("run: %q", r.stderr)
	}
	if st := h.mustRun("status", "Sim"); !strings.Contains(st.stdout, "Not accepted:") {
		t.Errorf("status:\n%s", st.stdout)
	}
	h.now = h.now.Add(time.Minute)
	h.mustRun("run", "Sim", "--resend")
	if got, want := len(fake.Users(connID(t, h))), len(sim.IDs("ACTIVE", "SUSPENDED")); got != want {
		t.Errorf("after the resend the sink holds %d users, want %d", got, want)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(h.mustRun("status", "Sim", "--json").stdout), &st); err != nil || st.NotAccepted != nil {
		t.Errorf("status --json after the resend: %+v, %v", st.NotAccepted, err)
	}
}
