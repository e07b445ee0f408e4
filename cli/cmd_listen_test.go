package cli

import (
	"net"
	"strings"
	"testing"
)

// Another process on NC_LISTEN's port (another program's, or any local
// user's taken first) does not keep the daemon from syncing: it starts,
// says why /healthz and /metrics are missing and what to do, serves the
// command line, and runs its connectors. Before, it stopped at the port,
// and the service with it, until someone freed it.
func TestAPortTakenDoesNotStopTheDaemon(t *testing.T) {
	h, _, fake := withSim(t, 20)
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Close() }()
	h.env["NC_LISTEN"] = holder.Addr().String()
	ran, second := make(chan result, 1), make(chan result, 1)
	r := h.serveWhileUp(func() { // a run through the daemon, and a second daemon
		ran <- h.run("run", "Sim")
		second <- h.run("serve")
	})
	if !strings.Contains(r.stderr, "level=ERROR") || !strings.Contains(r.stderr, "cannot listen on NC_LISTEN "+holder.Addr().String()) ||
		!strings.Contains(r.stderr, "the daemon runs its connectors meanwhile") || !strings.Contains(r.stderr, "listen=unavailable") {
		t.Errorf("serve with its port taken: exit %d\n%s", r.code, r.stderr)
	}
	select {
	case run := <-ran:
		if upserts, _ := fake.Counts(); run.code != 0 || upserts == 0 {
			t.Errorf("a run through the daemon: exit %d, %d upserts at the sink\n%s", run.code, upserts, run.stderr)
		}
	default:
		t.Error("the daemon never served the command line")
	}
	// The socket, not the port, keeps a second daemon on the data
	// directory out.
	select {
	case r := <-second:
		if r.code == 0 || !strings.Contains(r.stderr, "another neurons-connector daemon runs on") {
			t.Errorf("a second daemon: exit %d\n%s", r.code, r.stderr)
		}
	default:
		t.Error("no second daemon was tried")
	}
}
