package store

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"neurons-connector/connector"
	"neurons-connector/secret"
)

var writeFixture = flag.Bool("write-fixture", false, "rewrite testdata/store/schema-v1.* (the layout of schema version 1)")

const (
	fixtureDB  = "../testdata/store/schema-v1.db"
	fixtureKey = "../testdata/store/schema-v1.key"
	// The fixture's connectors, as schema version 1 stored them.
	fixtureOktaID     = "c_01J9V1OKTA00000000000000AA"
	fixtureOneLoginID = "c_01J9V1ONELOGIN000000000000"
	fixtureToken      = "00fixture-okta-token"
)

// writeV1Fixture regenerates the schema-v1 database with raw bbolt calls, so
// that this function documents exactly what version 1 looked like. TestMain
// runs it instead of the tests when given -write-fixture.
func writeV1Fixture() error {
	_ = os.Remove(fixtureDB)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		return err
	}
	db, err := bolt.Open(fixtureDB, 0o600, nil)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	created := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	err = db.Update(func(tx *bolt.Tx) error {
		mk := func(name string) *bolt.Bucket { b, _ := tx.CreateBucket([]byte(name)); return b }
		meta, conns, secrets, cursors := mk("meta"), mk("connectors"), mk("secrets"), mk("cursors")
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], 1)
		_ = meta.Put([]byte("schema_version"), v[:])
		check, _ := sealer.Seal(keyCheckPlain, keyCheckAAD)
		_ = meta.Put([]byte("key_check"), check)
		// Version 1 had no rateShare, fullEvery or schedule anchor.
		v1 := []map[string]any{
			{"id": fixtureOktaID, "name": "Okta prod", "type": "okta", "server": "Cloud",
				"url": "https://acme.okta.com", "userStatuses": []string{"ACTIVE", "SUSPENDED"},
				"schedule": map[string]string{"repeats": "weekly", "startTime": "03:15"},
				"active":   true, "created": created, "updated": created},
			{"id": fixtureOneLoginID, "name": "OneLogin", "type": "onelogin", "server": "Cloud",
				"url": "https://acme.onelogin.com", "clientId": "cid-123", "userStatuses": []string{"active"},
				"schedule": map[string]string{"repeats": "daily", "startTime": "02:00", "timeZone": "Europe/Berlin"},
				"active":   false, "created": created, "updated": created},
		}
		for _, c := range v1 {
			data, _ := json.Marshal(c)
			_ = conns.Put([]byte(c["id"].(string)), data)
		}
		tok, _ := sealer.Seal([]byte(fixtureToken), []byte(fixtureOktaID+"/token"))
		_ = secrets.Put([]byte(fixtureOktaID+"/token"), tok)
		cs, _ := sealer.Seal([]byte("fixture-onelogin-secret"), []byte(fixtureOneLoginID+"/client_secret"))
		_ = secrets.Put([]byte(fixtureOneLoginID+"/client_secret"), cs)
		return cursors.Put([]byte(fixtureOktaID), []byte(`{"watermark":"2025-03-14T09:00:00.000Z"}`))
	})
	if err != nil {
		return err
	}
	return os.WriteFile(fixtureKey, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
}

func TestMigrateFromSchemaV1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	copyFile(t, fixtureDB, path)
	keyPath := filepath.Join(dir, "secret.key")
	copyFile(t, fixtureKey, keyPath)
	if err := os.Chmod(keyPath, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Key: func(create bool) (*secret.Sealer, error) { return secret.LoadKeyFile(keyPath, create) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()

	if _, err := os.Stat(path + ".schema-v1.bak"); err != nil {
		t.Errorf("no backup taken before migrating: %v", err)
	}
	err = db.View(func(tx *Tx) error {
		v, _, _ := readVersion(tx.tx)
		if v != SchemaVersion {
			t.Errorf("schema version %d after migration", v)
		}
		all, err := tx.Connectors()
		if err != nil {
			return err
		}
		if len(all) != 2 {
			t.Fatalf("%d connectors after migration", len(all))
		}
		o, err := tx.ConnectorByName("okta PROD")
		if err != nil {
			return err
		}
		if o.RateShare != connector.DefaultRateShare || o.FullEvery != connector.Duration(connector.DefaultFullEvery) ||
			o.Schedule.Anchor != "2025-03-14" || o.Schedule.Repeats != connector.Weekly || o.MaxDeletes != connector.DefaultMaxDeletes {
			t.Errorf("okta connector not upgraded: %+v", o)
		}
		if tx.bucket(bucketHeld) == nil || tx.HeldCount(o.ID) != 0 {
			t.Error("no held bucket after migration")
		}
		raw := tx.bucket(bucketConnectors).Get([]byte(o.ID))
		if !strings.Contains(string(raw), `"maxDeletes":"10%"`) {
			t.Errorf("the stored configuration does not name its deletion guard: %s", raw)
		}
		tok, err := tx.Secret(fixtureOktaID, secretToken)
		if err != nil || string(tok.Reveal()) != fixtureToken {
			t.Errorf("token after migration: %q %v", tok.Reveal(), err)
		}
		if _, err := tx.Secret(fixtureOneLoginID, secretClientSecret); err != nil {
			t.Errorf("client secret after migration: %v", err)
		}
		if flat := tx.bucket(bucketSecrets).Get([]byte(fixtureOktaID + "/token")); flat != nil {
			t.Error("flat secret key left behind")
		}
		cur, ok, err := tx.Cursor(fixtureOktaID)
		if err != nil || !ok || string(cur.Value) != `{"watermark":"2025-03-14T09:00:00.000Z"}` {
			t.Errorf("cursor after migration: %q %v %v", cur.Value, ok, err)
		}
		if tx.OutboxDepth(fixtureOktaID) != 0 || tx.bucket(bucketOutbox) == nil {
			t.Error("outbox bucket missing or not empty")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// Schema version 4 did not count snapshots; the migration counts what each
// connector has, and the count goes on from there.
func TestMigrateFromSchemaV4CountsSnapshots(t *testing.T) {
	db := migrated(t, 4, func(tx *bolt.Tx) error {
		snaps := tx.Bucket(bucketSnapshots)
		for conn, n := range map[string]int{"c1": 3, "c2": 1500} { // c2: more than a page
			b, err := snaps.CreateBucket([]byte(conn))
			if err != nil {
				return err
			}
			for i := range n {
				if err := b.Put(fmt.Appendf(nil, "u%05d", i), Snapshot{Status: "ACTIVE"}.encode()); err != nil {
					return err
				}
			}
		}
		_, err := snaps.CreateBucket([]byte("c3"))
		return err
	})
	if _, err := os.Stat(db.Path() + ".schema-v4.bak"); err != nil {
		t.Errorf("no backup taken before migrating: %v", err)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutSnapshot("c1", "u99999", Snapshot{}) }); err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		for conn, want := range map[string]int{"c1": 4, "c2": 1500, "c3": 0} {
			if got := tx.SnapshotSize(conn); got != want {
				t.Errorf("%s: %d snapshots counted, want %d", conn, got, want)
			}
		}
		return nil
	})
}

// Schema version 5 named a batch by its outbox sequence when it was sent;
// the migration keeps that name for the batches waiting, so that one sent
// before the upgrade and not yet acknowledged goes again under the same
// key, while batches queued afterwards carry the key they were given.
func TestMigrateFromSchemaV5KeepsWaitingBatchesKeys(t *testing.T) {
	db := migrated(t, 5, func(tx *bolt.Tx) error {
		outbox := tx.Bucket(bucketOutbox)
		b, err := outbox.CreateBucket([]byte("c1"))
		if err != nil {
			return err
		}
		for seq := uint64(1); seq <= 3; seq++ {
			if _, err := b.NextSequence(); err != nil {
				return err
			}
			if seq == 1 {
				continue // delivered and removed
			}
			v := binary.AppendUvarint(nil, seq*10) // records, then the batch: schema 5's entry
			if err := b.Put(u64(seq), append(v, fmt.Sprintf("batch %d", seq)...)); err != nil {
				return err
			}
		}
		_, err = outbox.CreateBucket([]byte("c2")) // an empty outbox
		return err
	})
	if err := db.Update(func(tx *Tx) error {
		_, err := tx.Enqueue("c1", "c1:r_01NEW:1", 7, []byte("batch new"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	_ = db.View(func(tx *Tx) error {
		return tx.ForEachOutbox("c1", func(e OutboxEntry) error {
			got = append(got, fmt.Sprintf("%d %s %d %s", e.Seq, e.Key, e.Records, e.Batch))
			return nil
		})
	})
	want := []string{"2 c1:2 20 batch 2", "3 c1:3 30 batch 3", "4 c1:r_01NEW:1 7 batch new"}
	if !slices.Equal(got, want) {
		t.Errorf("outbox after the migration %q, want %q", got, want)
	}
	if records := 0; db.View(func(tx *Tx) error { records = tx.OutboxRecords("c1"); return nil }) != nil || records != 57 {
		t.Errorf("records waiting %d, want 57", records)
	}
}

// An outbox entry whose key runs past its end is damaged, not a batch.
func TestDamagedOutboxEntry(t *testing.T) {
	v := outboxValue(3, "c1:r_1:1", []byte("batch"))
	for _, bad := range [][]byte{v[:1], binary.AppendUvarint(binary.AppendUvarint(nil, 3), 99), {0x80}} {
		if _, err := outboxEntry("c1", u64(7), bad); err == nil || !strings.Contains(err.Error(), "outbox entry 7 is damaged") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if e, err := outboxEntry("c1", u64(7), v); err != nil || e.Key != "c1:r_1:1" || string(e.Batch) != "batch" || e.Records != 3 {
		t.Errorf("%+v %v", e, err)
	}
}

// migrated lays out a database of an earlier schema version (build writes
// what that version held into the current layout's buckets), then opens it
// as Open does: migrated to SchemaVersion.
func migrated(t *testing.T, version uint32, build func(*bolt.Tx) error) *DB {
	t.Helper()
	db := openTemp(t)
	path := db.Path()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := build(tx); err != nil {
			return err
		}
		return writeVersion(tx, version)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
