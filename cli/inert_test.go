package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"neurons-connector/providers/okta/oktatest"
)

func TestInertEscapesWhatATerminalActsOn(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n\ttabbed, ünïcödé": "plain text\n\ttabbed, ünïcödé",
		"a\x1b[2Jb":                     `a\x1b[2Jb`,
		"OK\rforged":                    `OK\rforged`,
		"bell\x07 nul\x00 del\x7f":      `bell\x07 nul\x00 del\u007f`,
		"csi\u009b31m":                  `csi\u009b31m`,
		"txt.exe\u202egnp":              `txt.exe\u202egnp`,
		"isolate\u2066x\u2069":          `isolate\u2066x\u2069`,
		"bad \xff byte":                 "bad \xff byte", // not a control: shown as the terminal shows it
	} {
		if got := string(inert([]byte(in))); got != want {
			t.Errorf("inert(%q) = %q, want %q", in, got, want)
		}
	}
}

// Text that came from elsewhere reaches the admin's terminal inert: a
// profile a user may edit (a value, a custom attribute's name), an error
// a proxy or an impostor answers in Okta's shape, a sink's refusal. Before,
// `explain` and `mapping preview` printed a profile key's escape sequences
// as they were, and a run and `status` the provider's and the sink's
// words: enough to clear the screen, print a forged "OK" over a line, or
// set the clipboard (OSC 52) of whoever looked.
func TestTextFromElsewhereIsInertOnTheTerminal(t *testing.T) {
	h, sim, neurons := withSim(t, 20)
	active := sim.IDs("ACTIVE")
	if err := sim.EditProfile(active[0], map[string]any{"title": "Eng\x1b]52;c;SGVsbG8=\x07\rOK", "nick\x1b[8mname": "x\u202eexe.txt"}); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim")
	check := func(what string, r result, shown ...string) {
		t.Helper()
		for _, out := range []string{r.stdout, r.stderr} {
			if i := strings.IndexFunc(out, live); i >= 0 {
				t.Errorf("%s printed a control character: %q", what, out[max(0, i-80):min(len(out), i+40)])
			}
		}
		for _, s := range shown {
			if !strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("%s does not show %s, escaped:\n%s%s", what, s, r.stdout, r.stderr)
			}
		}
	}
	check("explain", h.run("explain", "Sim", active[0]), `Profile.nick\x1b[8mname`, `x\u202eexe.txt`)
	table := writeTable(t, "target,source,transform,notes\nUser.JobTitle,profile.title,upper,\n")
	check("mapping preview", h.run("mapping", "preview", table, "Sim", "--users", "20"), `Profile.nick\x1b[8mname`)

	// An Okta that answers in its shape with words of its own.
	sim.Inject(oktatest.Fault{Path: "/api/v1/users", Status: http.StatusBadRequest, Summary: "Api validation failed\x1b[2K\rOK: 20 users read"})
	r := h.run("run", "Sim", "--full")
	if r.code != 1 {
		t.Fatalf("the run against the refusing Okta: exit %d, %s", r.code, r.stderr)
	}
	check("the failed run", r, `Api validation failed\x1b[2K\rOK: 20 users read`)
	check("status after it", h.run("status", "Sim"), `\x1b[2K\rOK`)

	// A sink that refuses a batch in words of its own.
	if err := sim.EditProfile(active[1], map[string]any{"title": "Changed"}); err != nil {
		t.Fatal(err)
	}
	neurons.AnswerNext(1, http.StatusBadRequest, "application/json",
		`{"error":"invalid_request","error_description":"refused \u001b]0;owned\u0007\r\nOK: delivered","details":["upserts[0]: \u009b2J"]}`)
	r = h.run("run", "Sim")
	if r.code != 1 {
		t.Fatalf("the run the sink refused: exit %d, %s", r.code, r.stderr)
	}
	check("the refused run", r, `refused \x1b]0;owned\x07`)
	check("status after it", h.run("status", "Sim"), `\x1b]0;owned\x07`)
	check("status of all", h.run("status"))
}

// JSON output stays JSON: what its encoder leaves as it is (DEL, C1
// controls, the bidirectional overrides) is escaped the way JSON escapes.
func TestInertKeepsJSONValid(t *testing.T) {
	doc, err := json.Marshal(map[string]string{"v": "del\x7f csi\u009b rlo\u202e esc\x1b"})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(inert(doc), &back); err != nil || back["v"] != "del\x7f csi\u009b rlo\u202e esc\x1b" {
		t.Errorf("%s read back as %q (%v)", inert(doc), back["v"], err)
	}
}
