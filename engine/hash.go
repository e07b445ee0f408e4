package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

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

// RecordHash is the hash the snapshot keeps of a mapped record: what tells
// a run whether the user changed since it was last queued.
func RecordHash(rec mapping.Record) [16]byte { return recordHash(rec.AppendJSON(nil)) }

// recordHash identifies a mapped record's content.
func recordHash(attrs []byte) [16]byte {
	sum := sha256.Sum256(attrs)
	var out [16]byte
	copy(out[:], sum[:16])
	return out
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
