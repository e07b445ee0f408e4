package store

import (
	"bytes"
	"crypto/rand"
	"fmt"
)

// RecordHashKeySize is the length of the record hash key.
const RecordHashKeySize = 32

// RecordHashKey returns the key the snapshot's record hashes are made with:
// random bytes of this database's own, made by the first write transaction
// that asks. A keyed hash lets change detection use a hash far faster than
// SHA-256 and still leave a user who edits their own profile no way to aim
// at a collision: the key never leaves the file. In a read transaction of a
// database that has none yet it returns nil: nothing was hashed with one.
//
// A key that reads as the wrong length is replaced in a write transaction
// (and ignored in a read one): the hashes made with the lost key then match
// nothing, so the next run sends every user again, which is safe; refusing
// every run would not be.
func (t *Tx) RecordHashKey() ([]byte, error) {
	meta := t.bucket(bucketMeta)
	if k := meta.Get(keyRecordHash); len(k) == RecordHashKeySize {
		return bytes.Clone(k), nil // bbolt's memory is valid only in the transaction
	}
	if !t.tx.Writable() {
		return nil, nil
	}
	k := make([]byte, RecordHashKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("make the record hash key: %w", err)
	}
	if err := meta.Put(keyRecordHash, k); err != nil {
		return nil, fmt.Errorf("write the record hash key: %w", err)
	}
	return k, nil
}
