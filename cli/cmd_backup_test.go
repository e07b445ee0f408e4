package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"neurons-connector/store"
)

// database backup writes a copy that restores: put in a new data
// directory with the key, it is the same connectors and secrets. Its
// mistakes change nothing.
func TestDatabaseBackup(t *testing.T) {
	out := t.TempDir()
	if r := newHarness(t).run("database", "backup", filepath.Join(out, "none.db")); r.code != 2 || !strings.Contains(r.stderr, "nothing to back up") {
		t.Fatalf("no database: exit %d, %q", r.code, r.stderr)
	}
	h, sim, fake := withSim(t, 30)
	h.mustRun("run", "Sim")
	copyPath := filepath.Join(out, "nc.db")
	r := h.mustRun("database", "backup", copyPath)
	if !strings.Contains(r.stdout, "Wrote a copy of the database to "+copyPath+" (") || !strings.Contains(r.stdout, "1 connector, schema version") ||
		!strings.Contains(r.stdout, "Keep secret.key") {
		t.Errorf("stdout: %q", r.stdout)
	}
	st, err := os.Stat(copyPath)
	if err != nil || runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 { // Windows: ACLs, not modes
		t.Fatalf("the copy: %v %v", st, err)
	}
	before, _ := os.ReadFile(copyPath)
	for _, tc := range []struct{ file, want string }{
		{copyPath, copyPath + " exists: give the name of a new file"},
		{filepath.Join(out, "no", "such", "folder.db"), "does not exist; create it first"},
	} {
		if r := h.run("database", "backup", tc.file); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, %q", tc.file, r.code, r.stderr)
		}
	}
	if after, _ := os.ReadFile(copyPath); string(after) != string(before) {
		t.Error("a refused backup changed the existing file")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("the folder holds %d files, temporary ones left behind?", len(entries))
	}

	// Restored into another data directory with the key, the connector
	// runs: its sealed token opens, and its snapshot says nothing changed.
	restored := newHarness(t)
	for k, v := range h.env {
		if k != "NC_DATA_DIR" {
			restored.env[k] = v
		}
	}
	if err := os.MkdirAll(restored.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{copyPath: store.FileName, filepath.Join(h.dir, "secret.key"): "secret.key"} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(restored.dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r = restored.mustRun("run", "Sim")
	if !strings.Contains(r.stderr, "incremental run") || !strings.Contains(r.stderr, " 0 upserted, 0 deleted") {
		t.Errorf("the restored connector's run: %q", r.stderr)
	}
	if got, want := len(fake.Users(connID(t, restored))), len(sim.IDs("ACTIVE", "SUSPENDED")); got != want {
		t.Errorf("the sink holds %d users of %d", got, want)
	}
}

// While the service runs it holds the database; the backup goes through
// it, streamed over its socket, and this command writes the file.
func TestDatabaseBackupWhileTheServiceRuns(t *testing.T) {
	t.Parallel()
	e := newDaemonEnv(t)
	e.mustCLI("connector", "add", "okta", "--name", "Okta A", "--url", e.oktaU, "--token-env", "OKTA_TOKEN")
	serve, _, exited := e.serve()
	e.mustCLI("run", "Okta A")
	copyPath := filepath.Join(t.TempDir(), "live.db")
	if r := e.mustCLI("database", "backup", copyPath); !strings.Contains(r.stdout, "1 connector") {
		t.Errorf("stdout: %q", r.stdout)
	}
	e.stop(serve, exited)
	id := e.statuses()[0].ID
	info, err := store.CheckCopy(copyPath)
	if err != nil || info.Connectors != 1 {
		t.Fatalf("the copy: %+v %v", info, err)
	}
	db, err := store.Open(copyPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.View(func(tx *store.Tx) error {
		runs, err := tx.Runs(id, 10)
		if err == nil && len(runs) != 1 {
			t.Errorf("the copy holds %d runs", len(runs))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
