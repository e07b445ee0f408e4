package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"neurons-connector/store"
)

// database restore puts a backup back, and the next run resends every
// user: a change the sink received after the backup and the source undid
// since (a title changed and changed back) is set right, where a run
// against the copy's snapshot finds nothing to send for that user. Its
// mistakes change nothing.
func TestDatabaseRestore(t *testing.T) {
	t.Parallel()
	h, sim, fake := withSim(t, 40)
	h.mustRun("run", "Sim")
	id := connID(t, h)
	victim := sim.IDs("ACTIVE")[3]
	title := fake.Users(id)[victim].Attributes["User.JobTitle"]
	if title == nil || title == "" {
		t.Fatalf("the victim's title in the sink: %v", title)
	}
	copyPath := filepath.Join(t.TempDir(), "nc.db")
	h.mustRun("database", "backup", copyPath)

	// After the backup: the title changes, reaches the sink, and changes
	// back at the source.
	if err := sim.EditProfile(victim, map[string]any{"title": "Changed after the backup"}); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim")
	if got := fake.Users(id)[victim].Attributes["User.JobTitle"]; got != "Changed after the backup" {
		t.Fatalf("the change did not reach the sink: %v", got)
	}
	if err := sim.EditProfile(victim, map[string]any{"title": title}); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(h.dir, store.FileName)
	before := fileBytes(t, path)
	notACopy := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notACopy, bytes.Repeat([]byte("not a database\n"), 500), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(t.TempDir(), "missing.db"), "is not a file: give the copy that database backup wrote"},
		{notACopy, "does not open as a database"},
	} {
		if r := h.run("database", "restore", tc.file); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("restore %s: exit %d, %q", tc.file, r.code, r.stderr)
		}
	}
	// The service (here, this test) holding the database.
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.run("database", "restore", copyPath); r.code != 2 || !strings.Contains(r.stderr, "is in use by another process") ||
		!strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("restore while the database is in use: exit %d, %q", r.code, r.stderr)
	}
	_ = db.Close()
	if !bytes.Equal(fileBytes(t, path), before) {
		t.Fatal("a refused restore changed the database")
	}
	if entries, _ := os.ReadDir(h.dir); len(entries) != 2 { // the database and secret.key
		t.Errorf("a refused restore left files: %v", entries)
	}

	r := h.mustRun("database", "restore", copyPath)
	if !strings.Contains(r.stdout, "Restored the database from "+copyPath+" (1 connector, schema version") ||
		!strings.Contains(r.stdout, "the database that was in place is kept as "+path+".before-restore-") ||
		!strings.Contains(r.stdout, "resends every selected user") || r.stderr != "" {
		t.Errorf("stdout: %q, stderr: %q", r.stdout, r.stderr)
	}
	kept, _ := filepath.Glob(path + ".before-restore-*")
	if len(kept) != 1 || !bytes.Equal(fileBytes(t, kept[0]), before) {
		t.Errorf("the database that was in place: %v", kept)
	}
	if st, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 { // Windows: ACLs
		t.Errorf("the restored database: %v %v", st, err)
	}

	if r := h.mustRun("status", "Sim"); !strings.Contains(r.stdout, "Resend pending") || !strings.Contains(r.stdout, "the database was restored from a copy") {
		t.Errorf("status after the restore: %q", r.stdout)
	}
	r = h.mustRun("run", "Sim")
	if !strings.Contains(r.stderr, "resend of every selected user: the database was restored from a copy") {
		t.Errorf("the run after the restore: %q", r.stderr)
	}
	if got := fake.Users(id)[victim].Attributes["User.JobTitle"]; got != title {
		t.Errorf("the sink holds the victim's title %v; the source's is %v", got, title)
	}
	if r := h.mustRun("status", "Sim"); strings.Contains(r.stdout, "Resend pending") {
		t.Errorf("status after the resend: %q", r.stdout)
	}
	if r := h.mustRun("run", "Sim"); strings.Contains(r.stderr, "resend") {
		t.Errorf("the run after that resends again: %q", r.stderr)
	}
}

// A restore onto a new host: without the key the copy's secrets were
// sealed with, it is refused and writes nothing; with it, the copy is the
// database.
func TestDatabaseRestoreOnANewHost(t *testing.T) {
	h, _, _ := withSim(t, 5)
	h.mustRun("run", "Sim")
	copyPath := filepath.Join(t.TempDir(), "nc.db")
	h.mustRun("database", "backup", copyPath)

	fresh := newHarness(t)
	for k, v := range h.env {
		if k != "NC_DATA_DIR" {
			fresh.env[k] = v
		}
	}
	r := fresh.run("database", "restore", copyPath)
	if r.code == 0 || !strings.Contains(r.stderr, "restore the key file from your backup") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("restore without the key: exit %d, %q", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(fresh.dir); len(entries) != 0 {
		t.Errorf("a refused restore left files: %v", entries)
	}
	if err := os.WriteFile(filepath.Join(fresh.dir, "secret.key"), fileBytes(t, filepath.Join(h.dir, "secret.key")), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh.env["NC_SERVER_NAME"] = "DR site"
	r = fresh.mustRun("database", "restore", copyPath)
	if !strings.Contains(r.stdout, "there was no database before") {
		t.Errorf("stdout: %q", r.stdout)
	}
	// The new host has a server name of its own: the copy's connector
	// would not run on schedule here, and the restore says so.
	if !strings.Contains(r.stderr, `warning: 1 connector of the copy has the server name "Cloud", and this host's is "DR site"`) ||
		!strings.Contains(r.stderr, `connector edit NAME --server "DR site"`) {
		t.Errorf("stderr: %q", r.stderr)
	}
	if r := fresh.mustRun("run", "Sim"); !strings.Contains(r.stderr, "resend of every selected user") {
		t.Errorf("the run on the new host: %q", r.stderr)
	}
}

// Into the CSV drop, the restore's resend sets the drop right too: the
// drop's state in the data directory is not in the backup, and is newer
// than the restored database.
func TestDatabaseRestoreIntoTheCSVDrop(t *testing.T) {
	h, sim, dir := withSimIntoCSV(t, 30)
	h.mustRun("run", "Sim")
	victim := sim.IDs("ACTIVE")[2]
	title := func() string {
		t.Helper()
		rows := readCSV(t, filepath.Join(dir, "Sim-users.csv"))
		col := slices.Index(rows[0], "User.JobTitle")
		for _, row := range rows[1:] {
			if row[0] == victim {
				return row[col]
			}
		}
		t.Fatalf("%s is not in the drop", victim)
		return ""
	}
	original := title()
	copyPath := filepath.Join(t.TempDir(), "nc.db")
	h.mustRun("database", "backup", copyPath)
	if err := sim.EditProfile(victim, map[string]any{"title": "Changed after the backup"}); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim")
	if got := title(); got != "Changed after the backup" {
		t.Fatalf("the drop holds %q", got)
	}
	if err := sim.EditProfile(victim, map[string]any{"title": original}); err != nil {
		t.Fatal(err)
	}
	h.mustRun("database", "restore", copyPath)
	h.mustRun("run", "Sim")
	if got := title(); got != original {
		t.Errorf("the drop holds %q; the source %q", got, original)
	}

	// On a new host, the drop's state and the drop are not there at all:
	// the restore's resend writes every user.
	h.mustRun("database", "restore", copyPath)
	if err := errors.Join(os.RemoveAll(filepath.Join(h.dir, "csvstate")), os.Remove(filepath.Join(dir, "Sim-users.csv"))); err != nil {
		t.Fatal(err)
	}
	h.mustRun("run", "Sim")
	if rows, want := readCSV(t, filepath.Join(dir, "Sim-users.csv")), len(sim.IDs("ACTIVE", "SUSPENDED")); len(rows)-1 != want || title() != original {
		t.Errorf("the drop holds %d users of %d", len(rows)-1, want)
	}
}
