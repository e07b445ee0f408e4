package store

import (
	"bytes"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// hashKey reads the record hash key in a read or a write transaction.
func hashKey(t *testing.T, db *DB, write bool) []byte {
	t.Helper()
	var k []byte
	fn := func(tx *Tx) error {
		var err error
		k, err = tx.RecordHashKey()
		return err
	}
	var err error
	if write {
		err = db.Update(fn)
	} else {
		err = db.View(fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecordHashKeyIsMadeOnceAndKept(t *testing.T) {
	db := openTemp(t)
	if k := hashKey(t, db, false); k != nil {
		t.Fatalf("a new database has a key before any write: %x", k)
	}
	k := hashKey(t, db, true)
	if len(k) != RecordHashKeySize || bytes.Equal(k, make([]byte, RecordHashKeySize)) {
		t.Fatalf("key %x", k)
	}
	if again := hashKey(t, db, true); !bytes.Equal(again, k) {
		t.Fatal("a second write transaction made a new key")
	}
	if read := hashKey(t, db, false); !bytes.Equal(read, k) {
		t.Fatal("a read transaction sees another key")
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := mustOpen(t, path, nil)
	if got := hashKey(t, reopened, false); !bytes.Equal(got, k) {
		t.Fatal("the key did not survive reopening the database")
	}
	if other := hashKey(t, openTemp(t), true); bytes.Equal(other, k) {
		t.Fatal("two databases made the same key")
	}
}

// A key cut short (a damaged page) is not used: a read sees none, and the
// next write replaces it, which costs a resend and refuses nothing.
func TestDamagedRecordHashKeyIsReplaced(t *testing.T) {
	db := openTemp(t)
	hashKey(t, db, true)
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyRecordHash, []byte("short"))
	}); err != nil {
		t.Fatal(err)
	}
	if k := hashKey(t, db, false); k != nil {
		t.Fatalf("a read used the damaged key %x", k)
	}
	if k := hashKey(t, db, true); len(k) != RecordHashKeySize {
		t.Fatalf("the damaged key was not replaced: %x", k)
	}
}
