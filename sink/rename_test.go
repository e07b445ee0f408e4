package sink

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/connector"
	"neurons-connector/store"
)

// A closing batch queued before its connector was renamed, and delivered
// after (the sink was down meanwhile), writes the drop under the
// connector's name now, not under the name the batch carries: the old
// name's file would be a second, stale drop.
func TestABatchQueuedBeforeARenameWritesTheNewName(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Update(func(tx *store.Tx) error {
		return tx.PutConnector(connector.Config{ID: "c1", Name: "Okta prod", Kind: "okta"})
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &CSV{DB: db, Dir: dir, State: t.TempDir()}
	pushFinal(t, c, "r1", "Okta test", "Engineer")
	if rows := readDrop(t, filepath.Join(dir, "Okta prod-users.csv")); len(rows) != 2 {
		t.Errorf("the drop under the name now: %q", rows)
	}
	if _, err := os.Stat(filepath.Join(dir, "Okta test-users.csv")); !os.IsNotExist(err) {
		t.Errorf("a drop under the batch's name: %v", err)
	}
}

// A rename committed while the drop was being written, its move of the
// drop done before this drop landed, still leaves the drop under the new
// name only.
func TestARenameWhileTheDropIsWrittenEndsUnderTheNewName(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rename := func(name string) {
		t.Helper()
		if err := db.Update(func(tx *store.Tx) error {
			return tx.PutConnector(connector.Config{ID: "c1", Name: name, Kind: "okta"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	rename("Okta test")
	dir := t.TempDir()
	c := &CSV{DB: db, Dir: dir, State: t.TempDir()}
	// A rename that committed, and moved the drop (none under the old
	// name yet), while this drop was written: done here, once it landed
	// and before its name is checked again.
	testHookLanded = func() { rename("Okta prod") }
	defer func() { testHookLanded = func() {} }()
	pushFinal(t, c, "r1", "Okta test", "Engineer")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "Okta prod-users.csv" {
		t.Errorf("the drop folder holds %v", entries)
	}
}

// pushFinal pushes a run's only batch, its final one, for connector c1
// named name: one user, u1, with title.
func pushFinal(t *testing.T, c *CSV, run, name, title string) {
	t.Helper()
	b := Batch{SchemaVersion: 1, DataType: "users", Connector: Connector{ID: "c1", Name: name, Type: "okta", Server: "Cloud"},
		Info: BatchInfo{RunID: run, Sequence: 1, Mode: "full", Final: true}, Deletes: []Delete{},
		Upserts: []Upsert{{SourceID: "u1", Attributes: []byte(`{"User.JobTitle":"` + title + `"}`)}}}
	body, _ := json.Marshal(b)
	p, err := Pack(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Push(context.Background(), "c1:"+run+":1", p); err != nil {
		t.Fatal(err)
	}
}

func TestRenameDrop(t *testing.T) {
	dir := t.TempDir()
	if err := RenameDrop(dir, "A", "B"); err != nil {
		t.Errorf("no drop to move: %v", err)
	}
	if err := os.WriteFile(DropPath(dir, "A"), []byte("SourceID\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := RenameDrop(dir, "A", "B"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(DropPath(dir, "B")); err != nil || string(b) != "SourceID\n" {
		t.Errorf("B: %q %v", b, err)
	}
	if _, err := os.Stat(DropPath(dir, "A")); !os.IsNotExist(err) {
		t.Errorf("A: %v", err)
	}
	// A folder where the new name's drop would go: the rename fails, and
	// says so.
	if err := os.WriteFile(DropPath(dir, "C"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(DropPath(dir, "D"), "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := RenameDrop(dir, "C", "D"); err == nil {
		t.Error("a rename over a folder passed")
	}
}

// A name as long as connector names may be in bytes (a hundred characters
// of a script of three bytes each come close) has its drop written: its
// temporary copy, named by the connector's ID, is not longer still.
func TestTheLongestNameHasItsDrop(t *testing.T) {
	name := strings.Repeat("東", connector.MaxNameBytes/3) + strings.Repeat("x", connector.MaxNameBytes%3)
	if err := connector.CheckName(name); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pushFinal(t, &CSV{Dir: dir, State: t.TempDir()}, "r1", name, "Engineer")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != name+"-users.csv" || len(entries[0].Name()) != 255 {
		t.Errorf("the drop folder holds %v", entries)
	}
}
