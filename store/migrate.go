package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"neurons-connector/connector"
	"neurons-connector/internal/private"
)

// migrations[i] moves a database from schema version i to i+1. Steps are
// never edited once released: a new layout is a new step.
var migrations = []func(*bolt.Tx) error{
	create1,
	migrate1to2,
	migrate2to3,
	migrate3to4,
	migrate4to5,
	migrate5to6,
}

// migrate brings the file to SchemaVersion. A current file is only read, so
// opening never rewrites it; an older one is first copied to
// "<file>.schema-v<N>.bak" and then converted in one transaction.
func (d *DB) migrate() error {
	var version uint32
	var empty bool
	err := d.bolt.View(func(tx *bolt.Tx) error {
		var err error
		version, empty, err = readVersion(tx)
		return err
	})
	switch {
	case err != nil:
		return err
	case version == SchemaVersion:
		return nil
	case version > SchemaVersion:
		return fmt.Errorf("schema version %d is newer than this program understands (%d); "+
			"run a newer neurons-connector or restore the backup taken before the upgrade", version, SchemaVersion)
	}
	if !empty {
		backup := fmt.Sprintf("%s.schema-v%d.bak", d.path, version)
		if err := d.backup(backup); err != nil {
			return fmt.Errorf("back up before migrating from schema version %d: %w", version, err)
		}
	}
	return d.bolt.Update(func(tx *bolt.Tx) error {
		for v := version; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
			if err := writeVersion(tx, v+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// readVersion returns the schema version, 0 for a new empty file.
func readVersion(tx *bolt.Tx) (version uint32, empty bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		hasBuckets := false
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { hasBuckets = true; return nil })
		if hasBuckets {
			return 0, false, fmt.Errorf("not a neurons-connector database (no meta bucket); check the path or NC_DATA_DIR")
		}
		return 0, true, nil
	}
	v := meta.Get(keySchemaVersion)
	if len(v) != 4 {
		return 0, false, fmt.Errorf("schema version record is damaged; restore a backup with `neurons-connector database restore FILE`")
	}
	return binary.BigEndian.Uint32(v), false, nil
}

func writeVersion(tx *bolt.Tx, v uint32) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	if err := tx.Bucket(bucketMeta).Put(keySchemaVersion, b[:]); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return nil
}

// backup writes a consistent copy of the database, mode 0600.
func (d *DB) backup(path string) error {
	f, err := private.OpenOwn(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // a link planted in its place is not followed
	if err != nil {
		return err
	}
	_, err = d.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = private.Inherit(path)
	}
	return err
}

// create1 lays out schema version 1 in an empty file.
func create1(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketConnectors, bucketSecrets, bucketCursors} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrate1to2 adds the names index, nests secrets per connector, wraps
// cursors with their save time, fills the options version 1 lacked, and
// creates the snapshots, outbox and runs buckets.
func migrate1to2(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketNames, bucketSnapshots, bucketOutbox, bucketRuns} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if err := upgradeConfigs(tx); err != nil {
		return err
	}
	if err := nestSecrets(tx.Bucket(bucketSecrets)); err != nil {
		return err
	}
	return wrapCursors(tx.Bucket(bucketCursors))
}

func upgradeConfigs(tx *bolt.Tx) error {
	conns, names := tx.Bucket(bucketConnectors), tx.Bucket(bucketNames)
	all, err := storedConfigs(conns)
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.RateShare == 0 {
			c.RateShare = connector.DefaultRateShare
		}
		if c.FullEvery == 0 {
			c.FullEvery = connector.Duration(connector.DefaultFullEvery)
		}
		if c.Schedule.Anchor == "" {
			c.Schedule.Anchor = c.Created.Format(time.DateOnly)
		}
		// Version 1 compared names case-sensitively; keep every connector
		// by giving a later case-twin a distinct name.
		for n := 2; names.Get([]byte(connector.FoldName(c.Name))) != nil; n++ {
			c.Name = fmt.Sprintf("%s (%d)", c.Name, n)
		}
		if err := names.Put([]byte(connector.FoldName(c.Name)), []byte(c.ID)); err != nil {
			return err
		}
		if err := putStoredConfig(conns, c); err != nil {
			return err
		}
	}
	return nil
}

func nestSecrets(b *bolt.Bucket) error {
	type flat struct{ key, id, name, value []byte }
	var moves []flat
	err := b.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil // already a nested bucket
		}
		id, name, ok := bytes.Cut(k, []byte("/"))
		if !ok {
			return fmt.Errorf("secret key %q is not <id>/<name>", k)
		}
		moves = append(moves, flat{clone(k), clone(id), clone(name), clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range moves {
		nb, err := b.CreateBucketIfNotExists(m.id)
		if err != nil {
			return err
		}
		if err := nb.Put(m.name, m.value); err != nil {
			return err
		}
		if err := b.Delete(m.key); err != nil {
			return err
		}
	}
	return nil
}

func wrapCursors(b *bolt.Bucket) error {
	type entry struct{ id, value []byte }
	var all []entry
	if err := b.ForEach(func(k, v []byte) error {
		all = append(all, entry{clone(k), clone(v)})
		return nil
	}); err != nil {
		return err
	}
	for _, e := range all {
		// The save time was not recorded in version 1: the zero time makes
		// the cursor look old, which errs towards a full run.
		data, err := json.Marshal(Cursor{Value: e.value})
		if err != nil {
			return err
		}
		if err := b.Put(e.id, data); err != nil {
			return err
		}
	}
	return nil
}

// migrate2to3 adds the per-connector sync state (last full run, the hashes
// of the configuration and mapping it ran with) and the CSV sink's state.
func migrate2to3(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketState, bucketSinkState} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrate3to4 adds the held deletes and gives every connector the default
// deletion guard explicitly (connector.DefaultMaxDeletes), so that `show`
// and the stored configuration say what applies.
func migrate3to4(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketHeld); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketHeld, err)
	}
	conns := tx.Bucket(bucketConnectors)
	all, err := storedConfigs(conns)
	if err != nil {
		return err
	}
	for _, c := range all {
		c.MaxDeletes = connector.DefaultMaxDeletes
		if err := putStoredConfig(conns, c); err != nil {
			return err
		}
	}
	return nil
}

// migrate4to5 counts each connector's snapshots into the sequence of its
// bucket, which PutSnapshot and DeleteSnapshot keep from then on: counting
// them with bbolt's Stats walked every page of the bucket, so each run and
// each status read the whole snapshot (216 MB at 1,000,000 users, held in
// the process's resident memory for the rest of the run).
func migrate4to5(tx *bolt.Tx) error {
	snaps := tx.Bucket(bucketSnapshots)
	return snaps.ForEachBucket(func(id []byte) error {
		b := snaps.Bucket(id)
		if err := b.SetSequence(uint64(b.Stats().KeyN)); err != nil {
			return fmt.Errorf("count snapshots of %s: %w", id, err)
		}
		return nil
	})
}

// migrate5to6 stores each waiting batch's Idempotency-Key with it: the
// key batches were sent under so far, <connector id>:<outbox sequence>, so
// that a batch sent before the upgrade and not yet acknowledged goes again
// under the same key. Later batches name themselves by their run.
func migrate5to6(tx *bolt.Tx) error {
	outbox := tx.Bucket(bucketOutbox)
	return outbox.ForEachBucket(func(id []byte) error {
		b := outbox.Bucket(id)
		type entry struct{ k, v []byte }
		var all []entry
		err := b.ForEach(func(k, v []byte) error {
			n, w := binary.Uvarint(v)
			if w <= 0 {
				return fmt.Errorf("connector %s outbox entry %d is damaged", id, binary.BigEndian.Uint64(k))
			}
			key := fmt.Sprintf("%s:%d", id, binary.BigEndian.Uint64(k))
			all = append(all, entry{bytes.Clone(k), outboxValue(int(n), key, v[w:])})
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range all { // rewritten after the walk: a cursor must not see its bucket change
			if err := b.Put(e.k, e.v); err != nil {
				return fmt.Errorf("rewrite outbox entry of %s: %w", id, err)
			}
		}
		return nil
	})
}

// storedConfigs decodes every configuration of the connectors bucket, for
// the migrations that rewrite them.
func storedConfigs(conns *bolt.Bucket) ([]connector.Config, error) {
	var all []connector.Config
	err := conns.ForEach(func(k, v []byte) error {
		var c connector.Config
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("connector %s: %w", k, err)
		}
		all = append(all, c)
		return nil
	})
	return all, err
}

func putStoredConfig(conns *bolt.Bucket, c connector.Config) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return conns.Put([]byte(c.ID), data)
}
