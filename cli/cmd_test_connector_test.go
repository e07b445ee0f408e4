package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/providers/okta/oktatest"
)

func TestConnectorTest(t *testing.T) {
	sim := oktatest.New(oktatest.Options{Users: 20, Token: "00Good-Token-For-Test", NoLimits: true})
	srv := sim.Start()
	defer srv.Close()
	h := newHarness(t)
	h.env["GOOD"], h.env["BAD"] = "00Good-Token-For-Test", "00Bad-Token-For-Test"
	h.mustRun("connector", "add", "okta", "--name", "Sim", "--url", srv.URL, "--token-env", "GOOD")
	h.mustRun("connector", "add", "okta", "--name", "Wrong", "--url", srv.URL, "--token-env", "BAD")
	if r := h.mustRun("connector", "test", "sim"); !strings.Contains(r.stdout, "OK: Okta org") {
		t.Errorf("good token: %q", r.stdout)
	}
	r := h.run("connector", "test", "Wrong")
	if r.code != 1 || !strings.Contains(r.stderr, `connector edit "Wrong" --token-stdin`) || strings.Contains(r.stderr, "00Bad-Token") {
		t.Errorf("bad token: exit %d, %q", r.code, r.stderr)
	}
	if r := h.run("connector", "test", "Nope"); r.code != 2 {
		t.Errorf("unknown connector: exit %d", r.code)
	}
}

// connector test asks the Neurons token endpoint too: a wrong secret is
// found before a first run queues every user for a sink that refuses it.
func TestConnectorTestChecksTheSink(t *testing.T) {
	h, _, _ := withSim(t, 20)
	r := h.mustRun("connector", "test", "Sim")
	if !strings.Contains(r.stdout, "Neurons' token endpoint") || !strings.Contains(r.stdout, "issued an access token to client sink-client") {
		t.Errorf("stdout: %q", r.stdout)
	}
	h.env["NC_NEURONS_CLIENT_SECRET"] = "Wrong-Secret-55"
	r = h.run("connector", "test", "Sim")
	if r.code != 1 || !strings.Contains(r.stderr, "reaches its provider, but the sink does not take it") ||
		!strings.Contains(r.stderr, "NC_NEURONS_CLIENT_SECRET") || strings.Contains(r.stderr, "Wrong-Secret-55") {
		t.Errorf("a wrong secret: exit %d, %q", r.code, r.stderr)
	}
	delete(h.env, "NC_NEURONS_URL")
	h.env["NC_SINK"] = "csv"
	drops := filepath.Join(t.TempDir(), "drops")
	h.env["NC_CSV_DIR"] = drops
	if r := h.mustRun("connector", "test", "Sim"); strings.Contains(r.stdout, "Neurons") || !strings.Contains(r.stdout, "the CSV drop can write to "+drops) {
		t.Errorf("with the CSV drop: %q", r.stdout)
	}
	// A file where the drop's folder should be: found now, not at the end
	// of a first run that queued every user (it said OK before).
	if err := os.WriteFile(drops, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.run("connector", "test", "Sim")
	if r.code != 1 || !strings.Contains(r.stderr, "the sink does not take it: the CSV drop cannot write to "+drops+" ("+drops+" is a file, not a folder): check NC_CSV_DIR") {
		t.Errorf("a file for the drop's folder: exit %d, %q", r.code, r.stderr)
	}
}
