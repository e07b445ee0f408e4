package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"neurons-connector/connector"
)

// A backup taken while another goroutine commits is one moment of the
// database: each commit queues a batch and moves the cursor to the count
// of batches, so in a torn copy the two would disagree. The copy opens as
// a database, and the writes go on during the backup.
func TestABackupIsOneMomentWhileWritesGoOn(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, FileName), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(connector.Config{ID: "c1", Name: "Okta", Kind: "okta"}) }); err != nil {
		t.Fatal(err)
	}
	batch := bytes.Repeat([]byte("x"), 16<<10)
	commit := func(i int) error {
		return db.Update(func(tx *Tx) error {
			if _, err := tx.Enqueue("c1", "c1:r:"+strconv.Itoa(i), 1, batch); err != nil {
				return err
			}
			return tx.PutCursor("c1", Cursor{Value: []byte(strconv.Itoa(i))})
		})
	}
	for i := 1; i <= 200; i++ { // a file of a few megabytes, which takes a while to copy
		if err := commit(i); err != nil {
			t.Fatal(err)
		}
	}
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		i := 200
		for {
			select {
			case <-stop:
				done <- i
				return
			default:
			}
			i++
			if err := commit(i); err != nil {
				t.Error(err)
			}
		}
	}()
	var copies []string
	for k := range 5 {
		path := filepath.Join(dir, "copy"+strconv.Itoa(k)+".db")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Backup(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, path)
	}
	close(stop)
	last := <-done
	for _, path := range copies {
		info, err := CheckCopy(path)
		if err != nil || info.Schema != SchemaVersion || info.Connectors != 1 {
			t.Fatalf("%s: %+v %v", path, info, err)
		}
		c, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.View(func(tx *Tx) error {
			cur, _, err := tx.Cursor("c1")
			if err != nil {
				return err
			}
			if depth := tx.OutboxDepth("c1"); strconv.Itoa(depth) != string(cur.Value) || depth < 200 || depth > last {
				t.Errorf("%s: %d batches, cursor %s (the writer reached %d)", path, depth, cur.Value, last)
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckCopyRefusesWhatIsNoBackup(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckCopy(junk); err == nil {
		t.Error("junk passed as a copy")
	}
}
