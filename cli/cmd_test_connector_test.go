package cli

import (
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
