package cli

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's way in: look at the CSV drop first, then point the settings
// at Neurons. The snapshot says what the connector delivered, not where: a
// new sink (the CSV drop, then Neurons; one Neurons tenant, then another;
// back to the drop) must get every selected user with the next run, not
// only the users that change afterwards.
func TestANewSinkGetsEveryUser(t *testing.T) {
	h, sim, first := withSim(t, 150)
	want := len(sim.IDs("ACTIVE", "SUSPENDED"))
	neurons := map[string]string{}
	for _, k := range []string{"NC_NEURONS_URL", "NC_NEURONS_TOKEN_URL", "NC_NEURONS_CLIENT_ID", "NC_NEURONS_CLIENT_SECRET"} {
		neurons[k] = h.env[k]
		delete(h.env, k)
	}
	csvDir := t.TempDir()
	h.env["NC_CSV_DIR"] = csvDir
	drop := filepath.Join(csvDir, "Sim-users.csv")
	h.mustRun("run", "Sim")
	if rows := readCSV(t, drop); len(rows)-1 != want {
		t.Fatalf("the CSV drop holds %d users, want %d", len(rows)-1, want)
	}

	// Pointed at Neurons: status says what the next run does; every user
	// goes, and the run says why.
	for k, v := range neurons {
		h.env[k] = v
	}
	if st := h.mustRun("status", "Sim"); !regexp.MustCompile(`Next run goes to: +Neurons at ` + regexp.QuoteMeta(neurons["NC_NEURONS_URL"])).MatchString(st.stdout) {
		t.Errorf("status before the switch's run:\n%s", st.stdout)
	}
	r := h.mustRun("run", "Sim")
	id := connID(t, h)
	if got := len(first.Users(id)); got != want {
		t.Fatalf("after the switch to Neurons the sink holds %d users, want %d (%s)", got, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "full run (resend of every selected user: the sink changed from the CSV drop") ||
		!strings.Contains(r.stderr, fmt.Sprintf("%d upserted", want)) {
		t.Errorf("summary: %q", r.stderr)
	}
	if st := h.mustRun("status", "Sim"); !strings.Contains(st.stdout, "Delivered to:    Neurons at "+neurons["NC_NEURONS_URL"]) ||
		strings.Contains(st.stdout, "Next run goes to") {
		t.Errorf("status:\n%s", st.stdout)
	}
	// Once delivered, the same sink gets nothing more.
	if r := h.mustRun("run", "Sim"); !strings.Contains(r.stderr, "incremental run (changes since the last run) ok") ||
		!strings.Contains(r.stderr, "0 upserted") {
		t.Errorf("the run after the switch: %q", r.stderr)
	}

	// Another Neurons tenant (another ingestion URL) gets everyone too.
	second := h.withFakeSink("Sink-Secret-Second")
	h.mustRun("run", "Sim")
	if got := len(second.Users(id)); got != want {
		t.Fatalf("the second Neurons sink holds %d users, want %d", got, want)
	}

	// A change made while the drop was not the sink reaches it once the
	// drop is the sink again; so do a user deleted at the source meanwhile
	// and one who left the selection, whom the drop held and must not
	// hold any more.
	active := sim.IDs("ACTIVE")
	gone, left := active[1], active[2]
	if err := errors.Join(sim.EditProfile(active[0], map[string]any{"title": "Moved Twice"}),
		sim.Delete(gone), sim.Delete(gone), sim.Deactivate(left)); err != nil {
		t.Fatal(err)
	}
	want -= 2
	h.mustRun("run", "Sim")
	if got := second.Users(id)[active[0]].Attributes["User.JobTitle"]; got != "Moved Twice" {
		t.Fatalf("the second sink has title %v", got)
	}
	for k := range neurons {
		delete(h.env, k)
	}
	h.mustRun("run", "Sim")
	rows := readCSV(t, drop)
	col := -1
	for i, name := range rows[0] {
		if name == "User.JobTitle" {
			col = i
		}
	}
	found := false
	for _, row := range rows[1:] {
		if row[0] == active[0] {
			found = row[col] == "Moved Twice"
		}
		if row[0] == gone || row[0] == left {
			t.Errorf("back on the CSV drop, it still holds %s, gone from the selection while it was not the sink", row[0])
		}
	}
	if !found || len(rows)-1 != want {
		t.Errorf("back on the CSV drop: %d users (want %d), the edited title there: %v", len(rows)-1, want, found)
	}

	// Back on the first Neurons tenant, left two sinks ago: the two users
	// it still held are deleted there, for the reasons they went.
	for k, v := range neurons {
		h.env[k] = v
	}
	h.mustRun("run", "Sim")
	held := first.Users(id)
	if _, ok := held[gone]; ok || len(held) != want {
		t.Errorf("back on the first tenant it holds %d users (want %d), the deleted one among them: %v", len(held), want, ok)
	}
	if r := first.DeleteReason(id, gone); r != "deleted-at-source" {
		t.Errorf("the deleted user went with reason %q", r)
	}
	if r := first.DeleteReason(id, left); r != "status-not-selected" {
		t.Errorf("the deactivated user went with reason %q", r)
	}
}

// A sink that refuses the batches when the connector leaves it (here a
// 403: the registration lost its permission, so the admin looks at the CSV
// drop meanwhile) still holds the users whose deletes wait in the outbox
// for it. Those batches go to the new sink, so the users they delete are
// remembered with the old sink's, and deleted there when the connector
// returns to it.
func TestDeletesWaitingForASinkLeftReachItOnReturn(t *testing.T) {
	h, sim, neurons := withSim(t, 60)
	h.mustRun("run", "Sim")
	id := connID(t, h)
	want := len(sim.IDs("ACTIVE", "SUSPENDED"))
	active := sim.IDs("ACTIVE")
	gone, left := active[1], active[2]
	if err := errors.Join(sim.Delete(gone), sim.Delete(gone), sim.Deactivate(left)); err != nil {
		t.Fatal(err)
	}
	want -= 2
	neurons.FailNext(1, http.StatusForbidden, "")
	r := h.run("run", "Sim", "--full")
	if r.code != 1 || !strings.Contains(r.stderr, "2 deleted") || !strings.Contains(r.stderr, "403") {
		t.Fatalf("the run during the outage: exit %d, %q", r.code, r.stderr)
	}
	settings := map[string]string{}
	for _, k := range []string{"NC_NEURONS_URL", "NC_NEURONS_TOKEN_URL", "NC_NEURONS_CLIENT_ID", "NC_NEURONS_CLIENT_SECRET"} {
		settings[k] = h.env[k]
		delete(h.env, k)
	}
	h.env["NC_CSV_DIR"] = t.TempDir()
	h.mustRun("run", "Sim")
	if rows := readCSV(t, filepath.Join(h.env["NC_CSV_DIR"], "Sim-users.csv")); len(rows)-1 != want {
		t.Fatalf("the CSV drop holds %d users, want %d", len(rows)-1, want)
	}

	for k, v := range settings {
		h.env[k] = v
	}
	r = h.mustRun("run", "Sim")
	held := neurons.Users(id)
	if _, ok := held[gone]; ok || len(held) != want {
		t.Errorf("back on Neurons it holds %d users (want %d), the deleted one among them: %v (%s)", len(held), want, ok, r.stderr)
	}
	if _, ok := held[left]; ok {
		t.Errorf("back on Neurons it still holds the deactivated user")
	}
	if r := neurons.DeleteReason(id, gone); r != "deleted-at-source" {
		t.Errorf("the deleted user went with reason %q", r)
	}
	if r := neurons.DeleteReason(id, left); r != "status-not-selected" {
		t.Errorf("the deactivated user went with reason %q", r)
	}
}
