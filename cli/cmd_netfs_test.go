package cli

import (
	"strings"
	"testing"
)

// A data directory on a network file system is warned of, by the daemon as
// it starts (in its log, on Windows in the event log) and by a run in the
// foreground, naming the file system and the way out: bbolt's lock does not
// keep out a process on another host, and a connection lost in a commit
// can damage the file. A local one is not.
func TestADataDirectoryOnANetworkShareIsWarnedOf(t *testing.T) {
	h, _, _ := withSim(t, 20)
	h.networkFS = func(dir string) (string, bool) { return "nfs", dir == h.dir }
	const warning = " is on nfs, a network file system: the database needs a local disk"
	r := h.mustRun("run", "Sim")
	if !strings.Contains(r.stderr, "note: the data directory "+h.dir+warning) || !strings.Contains(r.stderr, "set NC_DATA_DIR to it") {
		t.Errorf("run on a share:\n%s", r.stderr)
	}

	h.env["NC_LISTEN"] = "127.0.0.1:0"
	r = h.serveWhileUp(func() {})
	if !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, warning) || !strings.Contains(r.stderr, "daemon started") {
		t.Errorf("serve on a share: exit %d\n%s", r.code, r.stderr)
	}

	h.networkFS = nil // the real file system: the test's temporary folder, local
	if r := h.mustRun("run", "Sim"); strings.Contains(r.stderr, "network file system") {
		t.Errorf("run on a local disk:\n%s", r.stderr)
	}
}
