package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/store"
)

// A bad sector under a page of the snapshot: bbolt panicked on it, and a
// run ended in a Go stack trace (the daemon again at each restart). Now
// the run fails with one line that says what to do; `database check`
// tells what salvage would lose; `database salvage` keeps the rest; and
// the next run gives Neurons again every user, those whose snapshot
// entries were lost included.
func TestADamagedDatabaseIsSalvaged(t *testing.T) {
	t.Parallel()
	h, sim, fake := withSim(t, 900)
	h.mustRun("run", "Sim")
	id := connID(t, h)
	want := len(sim.IDs("ACTIVE", "SUSPENDED"))
	path := filepath.Join(h.dir, store.FileName)
	victim := sim.IDs("ACTIVE")[want/2]
	garbleLeavesHolding(t, path, victim)

	if err := sim.EditProfile(victim, map[string]any{"title": "Edited"}); err != nil {
		t.Fatal(err)
	}
	r := h.run("run", "Sim", "--full")
	if r.code != 1 || !strings.Contains(r.stderr, "is damaged") || !strings.Contains(r.stderr, "neurons-connector database salvage") ||
		strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("run on a damaged database: exit %d: %s", r.code, r.stderr)
	}

	before := fileBytes(t, path)
	c := h.run("database", "check")
	if c.code != 1 || !strings.Contains(c.stdout, `"Sim": `) || !strings.Contains(c.stdout, "not all read: users (its next run resends every selected user)") {
		t.Fatalf("check: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}
	if !bytes.Equal(fileBytes(t, path), before) {
		t.Fatal("database check changed the file")
	}

	s := h.run("database", "salvage")
	if s.code != 0 || !strings.Contains(s.stdout, "the damaged file is kept as "+path+".damaged-") {
		t.Fatalf("salvage: exit %d\n%s%s", s.code, s.stdout, s.stderr)
	}
	if again := h.run("database", "check"); again.code != 0 || !strings.Contains(again.stdout, "sound") {
		t.Fatalf("check after salvage: exit %d\n%s", again.code, again.stdout)
	}

	r = h.mustRun("run", "Sim")
	if !strings.Contains(r.stderr, "resend of every selected user: `database salvage` could not read all of this connector's data") ||
		!strings.Contains(r.stderr, fmt.Sprintf("%d upserted", want)) {
		t.Fatalf("the run after salvage: %s", r.stderr)
	}
	if got := fake.Users(id)[victim].Attributes["User.JobTitle"]; got != "Edited" {
		t.Errorf("the user on the damaged page reached Neurons with title %v", got)
	}
	if r := h.mustRun("run", "Sim"); !strings.Contains(r.stderr, "incremental run") || !strings.Contains(r.stderr, "0 upserted") {
		t.Errorf("the resend did not complete: %s", r.stderr)
	}
}

// garbleLeavesHolding writes garbage over the header of every leaf page
// of the database file that holds key, as a bad sector would.
func garbleLeavesHolding(t *testing.T, path, key string) {
	t.Helper()
	data := fileBytes(t, path)
	const page = 4096
	n := 0
	for off := 2 * page; off+page <= len(data); off += page {
		if binary.LittleEndian.Uint16(data[off+8:]) == 0x02 && bytes.Contains(data[off:off+page], []byte(key)) {
			copy(data[off:], bytes.Repeat([]byte{0xA7, 0x3C, 0x91, 0x5E}, 16))
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no leaf page holds %s", key)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The daemon meets the damage in a run: the run's caller gets the one
// line, the daemon stays up (its own pages are sound), /healthz fails with
// the fix so that monitoring sees it, and after the salvage it serves
// again.
func TestADamagedDatabaseUnderTheDaemon(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	e.mustCLI("connector", "add", "okta", "--name", "Okta A", "--url", e.oktaU, "--token-env", "OKTA_TOKEN")
	e.mustCLI("run", "Okta A")
	garbleLeavesHolding(t, store.PathIn(e.dir), e.okta.IDs("ACTIVE")[40])

	serve, _, exited := e.serve()
	if code, body := e.healthz(); code != http.StatusOK {
		t.Fatalf("/healthz before the damage was met: %d %q", code, body)
	}
	if r := e.cli("run", "Okta A", "--full"); r.code != 1 || !strings.Contains(r.stderr, "is damaged") || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if code, body := e.healthz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "is damaged") ||
		!strings.Contains(body, "neurons-connector database salvage") {
		t.Errorf("/healthz after the damage: %d %q", code, body)
	}
	if m := e.metrics(); !strings.Contains(m, "neurons_connector_database_damaged 1") {
		t.Errorf("/metrics after the damage:\n%s", m)
	}
	e.mustCLI("status") // the daemon is still up, and answers
	if r := e.cli("database", "salvage"); r.code != 1 || !strings.Contains(r.stderr, "is the neurons-connector service running?") {
		t.Errorf("salvage beside the daemon: exit %d: %s", r.code, r.stderr)
	}
	e.stop(serve, exited)

	e.mustCLI("database", "salvage")
	serve, _, exited = e.serve()
	r := e.mustCLI("run", "Okta A")
	if !strings.Contains(r.stderr, "`database salvage` could not read all") {
		t.Errorf("run after the salvage: %s", r.stderr)
	}
	if code, body := e.healthz(); code != http.StatusOK {
		t.Errorf("/healthz after the salvage: %d %q", code, body)
	}
	if m := e.metrics(); !strings.Contains(m, "neurons_connector_database_damaged 0") {
		t.Errorf("/metrics after the salvage:\n%s", m)
	}
	e.stop(serve, exited)
}

func (e *daemonEnv) healthz() (int, string) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+e.listen+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
