package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"neurons-connector/connector"
)

// copier writes what the walker reads into the new file, committing every
// copyBatch values so that a large snapshot is not one huge transaction.
type copier struct {
	db      *bolt.DB
	tx      *bolt.Tx
	n       int
	path    [][]byte     // of b
	b       *bolt.Bucket // the bucket written last
	err     error
	clashes int // entries left out: a damaged file can hold a key as a value and a bucket
}

const copyBatch = 10_000

// at returns the bucket path names in the open transaction, creating it.
func (c *copier) at(path [][]byte) *bolt.Bucket {
	if c.err != nil || len(path) == 0 {
		return nil
	}
	if c.tx == nil {
		if c.tx, c.err = c.db.Begin(true); c.err != nil {
			return nil
		}
		c.b = nil
	}
	if c.b != nil && slices.EqualFunc(c.path, path, bytes.Equal) {
		return c.b
	}
	b, err := c.tx.CreateBucketIfNotExists(path[0])
	for _, name := range path[1:] {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists(name)
	}
	if errors.Is(err, berrors.ErrIncompatibleValue) {
		c.clashes++
		c.b = nil
		return nil
	}
	if err != nil {
		c.err = fmt.Errorf("copy bucket %s: %w", bytes.Join(path, []byte("/")), err)
		return nil
	}
	// Keys come in order, as a first full pass writes them.
	b.FillPercent = fillPercent
	c.path, c.b = slices.Clone(path), b
	return b
}

// put copies one value; bbolt keeps key and value until the commit, and
// the source's memory is the damaged file's, so both are copied.
func (c *copier) put(path [][]byte, k, v []byte) {
	b := c.at(path)
	if b == nil {
		return
	}
	if err := b.Put(bytes.Clone(k), bytes.Clone(v)); errors.Is(err, berrors.ErrIncompatibleValue) {
		c.clashes++ // the name is a bucket's already
		return
	} else if err != nil {
		c.err = fmt.Errorf("copy %s/%q: %w", bytes.Join(path, []byte("/")), k, err)
		return
	}
	if c.n++; c.n%copyBatch == 0 {
		c.err = c.tx.Commit()
		c.tx = nil
	}
}

// sequence copies a bucket's sequence (a snapshot's user count, an
// outbox's batch numbers), creating the bucket even if it stays empty.
func (c *copier) sequence(path [][]byte, seq uint64) {
	if b := c.at(path); b != nil {
		if err := b.SetSequence(seq); err != nil {
			c.err = err
		}
	}
}

// flush commits what is left.
func (c *copier) flush() error {
	if c.tx != nil && c.err == nil {
		c.err = c.tx.Commit()
		c.tx = nil
	}
	if c.tx != nil {
		_ = c.tx.Rollback()
	}
	return c.err
}

// configs are the connectors whose configuration was read whole; the
// others are removed, and their data goes with them (dropOrphans).
func (w *walker) configs(b *bolt.Bucket) ([]connector.Config, error) {
	var out []connector.Config
	var bad [][]byte
	_ = b.ForEach(func(k, v []byte) error {
		var c connector.Config
		if err := json.Unmarshal(v, &c); err != nil || c.ID != string(k) || c.Name == "" {
			w.problem("connectors/%s: the configuration does not decode", k)
			w.lost[string(bucketConnectors)] = true
			bad = append(bad, bytes.Clone(k))
			return nil
		}
		out = append(out, c)
		return nil
	})
	for _, k := range bad {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b connector.Config) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ownerOf is the connector a key of a per-connector bucket belongs to:
// "<id>" or, in the state bucket, "<id>/rejected".
func ownerOf(key []byte) string {
	id, _, _ := strings.Cut(string(key), "/")
	return id
}

// dropOrphans removes what belongs to connectors whose configuration was
// lost: without it the rest cannot be used, and a connector added again
// gets a new ID.
func (w *walker) dropOrphans(tx *bolt.Tx, conns []connector.Config) error {
	known := map[string]bool{}
	for _, c := range conns {
		known[c.ID] = true
	}
	orphans := map[string]bool{}
	for _, top := range perConnector {
		b := tx.Bucket(top)
		var drop [][]byte
		_ = b.ForEach(func(k, _ []byte) error {
			if id := ownerOf(k); !known[id] {
				orphans[id] = true
				drop = append(drop, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range drop {
			var err error
			if b.Bucket(k) != nil {
				err = b.DeleteBucket(k)
			} else {
				err = b.Delete(k)
			}
			if err != nil {
				return fmt.Errorf("drop %s/%s: %w", top, k, err)
			}
		}
	}
	w.orphanIDs = slices.Sorted(maps.Keys(orphans))
	return nil
}

// connector says what of c was read and what was lost. A per-connector
// part counts as lost when its own bucket lost entries, or when the
// top-level bucket that holds it lost entries and it is not there.
func (w *walker) connector(tx *bolt.Tx, c connector.Config) SalvagedConnector {
	sc := SalvagedConnector{ID: c.ID, Name: c.Name}
	id := []byte(c.ID)
	lost := func(top []byte) bool {
		if w.lost[string(top)+"/"+c.ID] {
			return true
		}
		b := tx.Bucket(top)
		return w.lost[string(top)] && b.Bucket(id) == nil && b.Get(id) == nil
	}
	count := func(top []byte) int {
		n := 0
		if b := tx.Bucket(top).Bucket(id); b != nil {
			// Counted by hand: bbolt's Stats reads the pages as committed,
			// without this transaction's deletes.
			_ = b.ForEach(func([]byte, []byte) error { n++; return nil })
		}
		return n
	}
	bad := w.dropUndecodable(tx, c.ID)
	sc.Users, sc.Batches = count(bucketSnapshots), count(bucketOutbox)
	parts := []struct {
		top    []byte
		what   string
		resend bool
	}{
		{bucketSnapshots, "users", true},
		{bucketOutbox, "waiting batches", true},
		{bucketCursors, "cursor", true},
		{bucketState, "state", true},
		{bucketSecrets, "secrets", false},
		{bucketHeld, "held deletes", false},
		{bucketRuns, "run history", false},
	}
	for _, p := range parts {
		if lost(p.top) || bad[string(p.top)] {
			sc.Lost = append(sc.Lost, p.what)
			sc.Resend = sc.Resend || p.resend
		}
	}
	return sc
}

// dropUndecodable removes the connector's entries whose value does not
// decode: a page whose layout survived can still hold garbage in a value,
// and such an entry would fail every run that reads it. It returns the
// top-level buckets that lost some.
func (w *walker) dropUndecodable(tx *bolt.Tx, id string) map[string]bool {
	bad := map[string]bool{}
	dropIn := func(top []byte, ok func(k, v []byte) bool) {
		b := tx.Bucket(top).Bucket([]byte(id))
		if b == nil {
			return
		}
		var drop [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			if v != nil && !ok(k, v) {
				drop = append(drop, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range drop {
			_ = b.Delete(k)
		}
		if len(drop) > 0 {
			bad[string(top)] = true
			w.problem("%s/%s: %d of its entries do not decode", top, id, len(drop))
		}
	}
	dropIn(bucketSnapshots, func(_, v []byte) bool { _, err := decodeSnapshot(v); return err == nil })
	dropIn(bucketOutbox, func(k, v []byte) bool { _, err := outboxEntry(id, k, v); return err == nil })
	if v := tx.Bucket(bucketCursors).Get([]byte(id)); v != nil {
		if err := json.Unmarshal(v, &Cursor{}); err != nil {
			_ = tx.Bucket(bucketCursors).Delete([]byte(id))
			bad[string(bucketCursors)] = true
			w.problem("cursors/%s: does not decode", id)
		}
	}
	if v := tx.Bucket(bucketState).Get([]byte(id)); v != nil {
		if err := json.Unmarshal(v, &SyncState{}); err != nil {
			bad[string(bucketState)] = true // markResend replaces it
			w.problem("state/%s: does not decode", id)
		}
	}
	return bad
}

// markResend makes the connector's next run resend every selected user.
func markResend(tx *bolt.Tx, id string) error {
	b := tx.Bucket(bucketState)
	var st SyncState
	if v := b.Get([]byte(id)); v != nil {
		_ = json.Unmarshal(v, &st) // a state that does not decode is replaced
	}
	st.Resend = ResendAfterSalvage
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), data)
}
