package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/minio/highwayhash"

	"neurons-connector/connector"
	"neurons-connector/mapping"
)

// ConfigHash covers the options that change which users are fetched and
// how: a change makes the next run full.
func ConfigHash(c connector.Config) string {
	h := sha256.New()
	for _, part := range []string{string(c.Kind), c.URL, c.ClientID, strings.Join(c.Statuses, ",")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// recordHasher makes the hash the snapshot keeps of a mapped record: what
// tells a run whether the user changed since it was last queued.
//
// It is HighwayHash-128 keyed with the database's own random key
// (store.Tx.RecordHashKey): four to five times faster than SHA-256 on a
// record of 3 KB, which was a twentieth of a full run's CPU. Unkeyed, a
// fast hash would let a user who edits their own profile look for an edit
// that hashes as their last record did and so is never sent; without the
// key, which never leaves the database, there is nothing to aim at.
//
// Entries written before the key existed hold the first 16 bytes of the
// record's SHA-256 (legacyHash): same accepts those too, and the run
// rewrites them with the keyed hash, once each.
type recordHasher struct {
	key []byte // nil: a dry run on a database with no key yet; SHA-256 then
}

// sum is the hash of a record's attributes as encoded for the sink.
func (h recordHasher) sum(attrs []byte) [16]byte {
	if h.key == nil {
		return legacyHash(attrs)
	}
	return highwayhash.Sum128(attrs, h.key)
}

// same reports whether stored is the hash of attrs, whose sum is sum: the
// keyed hash, or the SHA-256 of an entry written before it. The second is
// computed only when the first differs, so what it costs falls on changed
// users, whose records are sent anyway, and on each entry's first run after
// the upgrade.
func (h recordHasher) same(stored, sum [16]byte, attrs []byte) bool {
	if stored == sum {
		return true
	}
	return h.key != nil && stored != [16]byte{} && stored == legacyHash(attrs)
}

// legacyHash is the record hash of the builds before the keyed one.
func legacyHash(attrs []byte) [16]byte {
	sum := sha256.Sum256(attrs)
	var out [16]byte
	copy(out[:], sum[:16])
	return out
}

// Unchanged reports whether stored, a snapshot entry's hash, is that of
// rec, with key the database's record hash key (nil when it has none).
func Unchanged(key []byte, rec mapping.Record, stored [16]byte) bool {
	h := recordHasher{key: key}
	attrs := rec.AppendJSON(nil)
	return h.same(stored, h.sum(attrs), attrs)
}

// idHash is the 64-bit FNV-1a of a source ID: a full run remembers the
// users it saw as these, 8 bytes each, instead of the IDs themselves. Two
// IDs colliding would only delay one user's delete-at-source to a later
// full run.
func idHash[T ~string | ~[]byte](id T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}
