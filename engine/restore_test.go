package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/store"
)

// A database restored from a backup (a VM snapshot reverted, a data
// directory copied back) counts its outbox again from where the backup
// left it. Batches made after the restore must not reuse the names of
// batches the sink accepted before it: the sink would answer "duplicate"
// and their changes would be lost for good, the snapshot saying they were
// sent. Every user ends with its latest values.
func TestARestoredDatabaseLosesNoChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200, "ACTIVE")
	e.mustRun(engine.Options{})
	path := filepath.Join(e.dir, store.FileName)
	backup := filepath.Join(e.dir, "backup.db")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, path, backup)
	reopen := func() {
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e.db, e.eng.DB = db, db
	}
	reopen()

	ids := e.sim.IDs("ACTIVE")
	title := func(i int, when string) string { return fmt.Sprintf("Title %d %s", i, when) }
	for i, id := range ids[:5] {
		_ = e.sim.EditProfile(id, map[string]any{"title": title(i, "before the restore")})
	}
	e.clock.Advance(time.Hour)
	e.mustRun(engine.Options{})

	// The backup comes back; meanwhile other users change.
	_ = e.db.Close()
	copyFile(t, backup, path)
	reopen()
	for i, id := range ids[5:10] {
		_ = e.sim.EditProfile(id, map[string]any{"title": title(i, "after the restore")})
	}
	e.clock.Advance(time.Hour)
	e.mustRun(engine.Options{})

	held := e.fake.Users(e.conn.ID)
	for i, id := range ids[:10] {
		want := title(i, "before the restore")
		if i >= 5 {
			want = title(i-5, "after the restore")
		}
		if got := held[id].Attributes["User.JobTitle"]; got != want {
			t.Errorf("user %s: the sink holds title %v, want %q", id, got, want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil { //nolint:gosec // G703: both paths are in the test's temporary directory
		t.Fatal(err)
	}
}
