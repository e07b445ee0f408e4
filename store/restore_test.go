package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"neurons-connector/secret"
)

// A copy from an older version is brought to this one's schema as it is
// put in place, leaving no file of its own beside the database (the copy
// restored from is the backup), and every connector resends at its next
// run.
func TestRestoreAnOlderCopy(t *testing.T) {
	dir := t.TempDir()
	from := filepath.Join(t.TempDir(), "backup.db")
	copyFile(t, fixtureDB, from)
	keyPath := filepath.Join(dir, "secret.key")
	copyFile(t, fixtureKey, keyPath)
	key := func(create bool) (*secret.Sealer, error) { return secret.LoadKeyFile(keyPath, create) }
	path := filepath.Join(dir, FileName)
	rep, err := Restore{Path: path, From: from, Key: key, Now: time.Now()}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Schema != 1 || rep.Connectors != 2 || rep.Kept != "" {
		t.Errorf("report: %+v", rep)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{FileName, "secret.key"}) {
		t.Errorf("the data directory holds %v", names)
	}
	db := mustOpen(t, path, key)
	_ = db.View(func(tx *Tx) error {
		v, _, _ := readVersion(tx.tx)
		if v != SchemaVersion {
			t.Errorf("schema version %d", v)
		}
		for _, id := range []string{fixtureOktaID, fixtureOneLoginID} {
			if st, err := tx.SyncState(id); err != nil || st.Resend != ResendAfterRestore {
				t.Errorf("%s: resend %q, %v", id, st.Resend, err)
			}
		}
		if tok, err := tx.Secret(fixtureOktaID, "token"); err != nil || string(tok.Reveal()) != fixtureToken {
			t.Errorf("the token: %v", err)
		}
		return nil
	})
}

// A copy from a later version, or with secrets this key does not open, is
// refused, and the database in place stays as it was.
func TestRestoreRefusals(t *testing.T) {
	dir, path, before := emptyDatabase(t)

	later := filepath.Join(t.TempDir(), "later.db")
	copyFile(t, path, later)
	bdb, err := bolt.Open(later, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error { return writeVersion(tx, SchemaVersion+1) }); err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()
	if _, err := (Restore{Path: path, From: later, Now: time.Now()}).Run(); err == nil || !strings.Contains(err.Error(), "a later version of neurons-connector wrote") {
		t.Errorf("a later copy: %v", err)
	}

	sealed := filepath.Join(t.TempDir(), "sealed.db")
	copyFile(t, fixtureDB, sealed)
	wrong := func(bool) (*secret.Sealer, error) { return secret.NewSealer(bytes.Repeat([]byte{7}, 32)) }
	if _, err := (Restore{Path: path, From: sealed, Key: wrong, Now: time.Now()}).Run(); err == nil || !strings.Contains(err.Error(), "is not the one this database was sealed with") {
		t.Errorf("a copy sealed with another key: %v", err)
	}
	if after := readAll(t, path); string(after) != string(before) {
		t.Error("a refused restore changed the database")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a refused restore left files: %v", entries)
	}
}

// emptyDatabase creates a database with nothing in it, closed, the one a
// restore replaces, in a folder of its own; it returns the folder, the
// database's path and its bytes.
func emptyDatabase(t *testing.T) (dir, path string, content []byte) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, FileName)
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, path, readAll(t, path)
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A copy that cannot take the database's name leaves the database under
// its name with its content, no second name for it, and no temporary copy:
// whether the database was kept by a second link or, where the file system
// has no hard links, moved aside and moved back.
func TestRestoreThatCannotPutTheCopyInPlaceChangesNothing(t *testing.T) {
	for _, noLinks := range []bool{false, true} {
		dir, path, before := emptyDatabase(t)
		from := filepath.Join(t.TempDir(), "backup.db")
		copyFile(t, path, from)
		link, rename := linkFile, renameFile
		t.Cleanup(func() { linkFile, renameFile = link, rename })
		if noLinks {
			linkFile = func(string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
		}
		renames := 0
		renameFile = func(from, to string) error {
			renames++
			if to == path && strings.HasSuffix(from, ".restore") {
				return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrPermission}
			}
			return os.Rename(from, to)
		}
		_, err := Restore{Path: path, From: from, Now: time.Now()}.Run()
		if err == nil || !strings.Contains(err.Error(), "put the copy in place of") {
			t.Errorf("no links %v: %v", noLinks, err)
		}
		if want := map[bool]int{false: 1, true: 3}[noLinks]; renames != want {
			t.Errorf("no links %v: %d renames, want %d (the path the test meant to take)", noLinks, renames, want)
		}
		if after := readAll(t, path); !bytes.Equal(after, before) {
			t.Errorf("no links %v: the database changed", noLinks)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("no links %v: the data directory holds %v", noLinks, entries)
		}
	}
}
