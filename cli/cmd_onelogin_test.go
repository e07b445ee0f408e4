package cli

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"neurons-connector/providers/onelogin/onelogintest"
	"neurons-connector/sink/sinktest"
)

// A OneLogin connector from the command line: test, run, status.
func TestOneLoginConnectorRunsAndTests(t *testing.T) {
	sim := onelogintest.New(onelogintest.Options{Users: 120, Seed: 3, ClientID: "ol-cli", ClientSecret: "OL-Secret-Cli", HourlyLimit: -1})
	simSrv := sim.Start()
	defer simSrv.Close()
	fake := sinktest.New(sinktest.Options{ClientSecret: "Sink-Secret-Run"})
	sinkSrv := fake.Start()
	defer sinkSrv.Close()
	h := newHarness(t)
	h.env["NC_NEURONS_URL"] = sinkSrv.URL
	h.env["NC_NEURONS_TOKEN_URL"] = sinkSrv.URL + sinktest.TokenPath
	h.env["NC_NEURONS_CLIENT_ID"] = "sink-client"
	h.env["NC_NEURONS_CLIENT_SECRET"] = "Sink-Secret-Run"
	h.env["OL_GOOD"], h.env["OL_BAD"] = "OL-Secret-Cli", "OL-Wrong-Cli"
	h.mustRun("connector", "add", "onelogin", "--name", "OL", "--domain", simSrv.URL, "--client-id", "ol-cli",
		"--client-secret-env", "OL_GOOD", "--user-status", "active,locked", "--rate-share", "100")
	h.mustRun("connector", "add", "onelogin", "--name", "OL wrong", "--domain", simSrv.URL, "--client-id", "ol-cli",
		"--client-secret-env", "OL_BAD")
	if r := h.mustRun("connector", "test", "OL"); !strings.Contains(r.stdout, "OK: OneLogin account") {
		t.Errorf("test: %q", r.stdout)
	}
	r := h.run("connector", "test", "OL wrong")
	if r.code != 1 || !strings.Contains(r.stderr, `connector edit "OL wrong"`) || strings.Contains(r.stderr, "OL-Wrong-Cli") {
		t.Errorf("wrong secret: exit %d, %q", r.code, r.stderr)
	}
	r = h.run("run", "OL")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	var id string
	for _, c := range h.list() {
		if c.Name == "OL" {
			id = c.ID
		}
	}
	held := fake.Users(id)
	want := sim.IDs(1, 3)
	if len(held) != len(want) {
		t.Fatalf("sink holds %d, want %d", len(held), len(want))
	}
	for _, w := range want {
		if _, ok := held[strconv.FormatInt(w, 10)]; !ok {
			t.Errorf("user %d not delivered", w)
		}
	}
	// A second connector on the same account into the CSV drop, the other
	// sink (a sink switch alone resends nothing: the snapshot is per
	// connector, not per sink).
	dir := t.TempDir()
	h.env["NC_SINK"], h.env["NC_CSV_DIR"] = "csv", dir
	h.mustRun("connector", "add", "onelogin", "--name", "OL csv", "--domain", simSrv.URL, "--client-id", "ol-cli",
		"--client-secret-env", "OL_GOOD", "--user-status", "active,locked", "--rate-share", "100")
	h.mustRun("run", "OL csv")
	data, err := os.ReadFile(filepath.Join(dir, "OL csv-users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows)-1 != len(want) || !slices.Contains(rows[0], "User.ManagerEmail") {
		t.Fatalf("csv drop: %d rows, header %v, %v", len(rows), rows[0], err)
	}
	st := h.mustRun("status", "OL")
	for _, out := range []string{r.stdout, r.stderr, st.stdout} {
		if strings.Contains(out, "OL-Secret-Cli") || strings.Contains(out, "Sink-Secret-Run") {
			t.Fatal("a secret was printed")
		}
	}
}
