package cli

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"neurons-connector/api"
)

// mapping preview: a table that changes one target shows exactly that
// target, for the users it changes, with the value before and after; the
// preview changes nothing.
func TestMappingPreviewShowsOnlyWhatChanges(t *testing.T) {
	h, sim, _ := withSim(t, 200)
	h.mustRun("run", "Sim")
	table := h.mustRun("mapping", "export", "Sim").stdout
	edited := strings.Replace(table, "User.JobTitle,profile.title,,", "User.JobTitle,profile.department,,", 1)
	if edited == table {
		t.Fatal("the built-in table has no User.JobTitle row to edit")
	}
	file := filepath.Join(t.TempDir(), "okta.csv")
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	before := h.snapshot()
	calls := len(sim.Requests())
	var p api.Preview
	r := h.mustRun("mapping", "preview", file, "Sim", "--users", "10", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if p.Read != 10 || len(p.Changed) == 0 || strings.Join(p.Statuses, ",") != "ACTIVE,SUSPENDED" {
		t.Fatalf("preview: read %d, changed %d, statuses %v", p.Read, len(p.Changed), p.Statuses)
	}
	statuses := map[string]bool{}
	for _, u := range p.Changed {
		statuses[u.Status] = true
		if len(u.Changes) != 1 || u.Changes[0].Target != "User.JobTitle" {
			t.Errorf("user %s: changes %+v; only User.JobTitle may change", u.SourceID, u.Changes)
			continue
		}
		var was, now string
		_ = json.Unmarshal(u.Changes[0].Before, &was)
		_ = json.Unmarshal(u.Changes[0].After, &now)
		if was == now || u.Label == "" {
			t.Errorf("user %s (%s): %q -> %q", u.SourceID, u.Label, was, now)
		}
	}
	if len(statuses) != 2 {
		t.Errorf("the users changed are all of status %v: the preview must take users of every selected status", slices.Sorted(maps.Keys(statuses)))
	}
	if n := len(sim.Requests()) - calls; n > 1+2+2*10 { // apps, a listing per status, links and devices per user
		t.Errorf("a preview of 10 users made %d API calls", n)
	}
	text := h.mustRun("mapping", "preview", file, "Sim", "--users", "10").stdout
	if !strings.Contains(text, "  User.JobTitle: \"") || !strings.Contains(text, "users read would change. Nothing was changed") {
		t.Errorf("text preview:\n%s", text)
	}
	if same := h.mustRun("mapping", "preview", writeTable(t, table), "Sim").stdout; !strings.Contains(same, "No target of the 20 users read would change") {
		t.Errorf("the table in force previewed against itself:\n%s", same)
	}
	if !maps.Equal(before, h.snapshot()) {
		t.Error("a preview changed the data directory")
	}
}

func writeTable(t *testing.T, csv string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil { //nolint:gosec // G703: a file in the test's own temporary directory
		t.Fatal(err)
	}
	return file
}

// Mistakes are exit 2 and a clear line: a table with problems (listed as
// mapping check lists them), an unknown connector, a bad --users.
func TestMappingPreviewMistakes(t *testing.T) {
	h, _, _ := withSim(t, 50)
	table := h.mustRun("mapping", "export", "Sim").stdout
	bad := writeTable(t, strings.Replace(table, "User.JobTitle,profile.title,,", "User.JobTitel,profile.title,,", 1))
	r := h.run("mapping", "preview", bad, "Sim")
	if r.code != 2 || !strings.Contains(r.stderr, bad+":") || !strings.Contains(r.stderr, "1 problem in "+bad) {
		t.Errorf("a table with a problem: exit %d, %q", r.code, r.stderr)
	}
	good := writeTable(t, table)
	for _, args := range [][]string{
		{"mapping", "preview", good, "Nope"},
		{"mapping", "preview", good, "Sim", "--users", "0"},
		{"mapping", "preview", good + ".missing", "Sim"},
		{"mapping", "preview", good},
	} {
		if r := h.run(args...); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, %q", args[2:], r.code, r.stderr)
		}
	}
}
