//go:build !windows

package sink

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/store"
)

// Root running the CSV drop beside the service (its data directory the
// service's account's, so a service taken over may name files in it)
// neither appends to nor cuts a file through a link planted as a
// connector's journal: the batch carries users' own profile values, and
// appended to /root/.ssh/authorized_keys a line of one would let its
// author in; cut, /etc/passwd would be empty.
func TestTheDropWritesNoFileThroughALinkPlantedAsItsJournal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as CI runs") // for anyone else a folder of another account's is closed anyway
	}
	system := filepath.Join(t.TempDir(), "authorized_keys") // root's
	const keys = "ssh-ed25519 AAAAC3Nza admin@example\n"
	if err := os.WriteFile(system, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	state := accountsState(t)
	if err := os.Symlink(system, filepath.Join(state, "c1.journal")); err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	p := oneUser(t, "\nssh-ed25519 AAAAattacker mallory\n", false)
	err := (&CSV{DB: db, Dir: t.TempDir(), State: state}).Push(context.Background(), "k1", p)
	if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("a push through a planted journal: %v", err)
	}
	if got, _ := os.ReadFile(system); string(got) != keys {
		t.Fatalf("the file the link names now holds %q", got)
	}
}

// A drop folder the service's account may not write is refused to root
// beside the service (private.WritableFor): the drop's rows come from
// files that account wrote, and its settings may too.
func TestRootWritesNoDropWhereTheServiceCouldNot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as CI runs")
	}
	state := accountsState(t)
	db := newDB(t)
	p := oneUser(t, "Engineer", true)
	system := t.TempDir() // root's, as /etc/logrotate.d is
	err := (&CSV{DB: db, Dir: system, State: state}).Push(context.Background(), "k1", p)
	if err == nil || !strings.Contains(err.Error(), "NC_CSV_DIR: "+system+" is a folder uid 4242, which owns the data directory, may not write") {
		t.Errorf("a drop into root's folder: %v", err)
	}
	// connector test says so too, rather than trying the folder as root.
	if _, err := (&CSV{DB: db, Dir: system, State: state}).Check(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "the CSV drop cannot write to "+system+": NC_CSV_DIR: "+system+" is a folder uid 4242") {
		t.Errorf("connector test of a drop into root's folder: %v", err)
	}
	if entries, _ := os.ReadDir(system); len(entries) != 0 {
		t.Errorf("root's folder now holds %s", entries[0].Name())
	}
	if err := os.Chown(system, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if err := (&CSV{DB: db, Dir: system, State: state}).Push(context.Background(), "k1", p); err != nil {
		t.Errorf("a drop into the account's folder: %v", err)
	}
}

// accountsState is a folder of the drop's states that the service's
// account (uid 4242) owns, as in its data directory.
func accountsState(t *testing.T) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "csvstate")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	return state
}

func newDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// oneUser is a run's batch for connector c1 (Okta) with user u1 of title.
func oneUser(t *testing.T, title string, final bool) Payload {
	t.Helper()
	attrs, _ := json.Marshal(map[string]any{"User.JobTitle": title})
	return pack(t, &Batch{SchemaVersion: 1, DataType: "users", Connector: Connector{ID: "c1", Name: "Okta", Type: "okta", Server: "Cloud"},
		Info: BatchInfo{RunID: "r1", Sequence: 1, Mode: "full", Final: final}, Deletes: []Delete{},
		Upserts: []Upsert{{SourceID: "u1", Attributes: attrs}}})
}
