package engine_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"neurons-connector/engine"
	"neurons-connector/store"
)

// olderBuildHash is the record hash the builds before the keyed one kept:
// the first 16 bytes of the SHA-256 of the attributes as sent. Written out
// here from that definition, not taken from the engine.
func olderBuildHash(raw []byte) [16]byte {
	sum := sha256.Sum256(raw)
	var out [16]byte
	copy(out[:], sum[:16])
	return out
}

// snapshotHashes are the hashes the snapshot keeps, by user.
func (e *env) snapshotHashes() map[string][16]byte {
	e.t.Helper()
	out := map[string][16]byte{}
	err := e.db.View(func(tx *store.Tx) error {
		return tx.ForEachSnapshot(e.conn.ID, func(id string, s store.Snapshot) error {
			out[id] = s.Hash
			return nil
		})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// An upgrade must not send the whole tenant again: a snapshot written by
// a build that hashed records with SHA-256 is recognised, each entry
// rewritten with the keyed hash on its first full run, and only users that
// really changed are sent.
func TestSnapshotOfAnOlderBuildIsNotSentAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400, "ACTIVE")
	first := e.mustRun(engine.Options{})
	if first.Upserted == 0 {
		t.Fatal("the first run sent nothing")
	}
	// The snapshot as an older build would have left it.
	sent := e.fake.Users(e.conn.ID)
	err := e.db.Update(func(tx *store.Tx) error {
		return tx.ForEachSnapshot(e.conn.ID, func(id string, s store.Snapshot) error {
			rec, ok := sent[id]
			if !ok || len(rec.Raw) == 0 {
				t.Fatalf("the sink holds no record of %s", id)
			}
			s.Hash = olderBuildHash(rec.Raw)
			return tx.PutSnapshot(e.conn.ID, id, s)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	edited := e.sim.IDs("ACTIVE")[7]
	if err := e.sim.EditProfile(edited, map[string]any{"title": "Upgraded"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	second := e.mustRun(engine.Options{Full: true})
	if second.Upserted != 1 {
		t.Fatalf("the first full run after the upgrade sent %d users, want only the edited one", second.Upserted)
	}
	if got := e.fake.Users(e.conn.ID)[edited].Attributes["User.JobTitle"]; got != "Upgraded" {
		t.Errorf("edited title %v", got)
	}
	after := e.snapshotHashes()
	for id, h := range after {
		if h == olderBuildHash(e.fake.Users(e.conn.ID)[id].Raw) {
			t.Fatalf("%s still holds the older build's hash after a full run", id)
		}
	}
	e.clock.Advance(time.Hour)
	third := e.mustRun(engine.Options{Full: true})
	if third.Upserted != 0 {
		t.Fatalf("a full run with nothing changed sent %d users", third.Upserted)
	}
	for id, h := range e.snapshotHashes() {
		if after[id] != h {
			t.Fatalf("%s's hash changed in a run where nothing did", id)
		}
	}
}

// The hashes are keyed per database: the same records, delivered by two
// databases, hash differently, and not as SHA-256 does, so nobody outside
// a database can tell which edit of their profile would collide in it.
func TestRecordHashesAreKeyedPerDatabase(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t, 60, "ACTIVE"), newEnv(t, 60, "ACTIVE")
	a.mustRun(engine.Options{})
	b.mustRun(engine.Options{})
	ha, hb := a.snapshotHashes(), b.snapshotHashes()
	if len(ha) == 0 || len(ha) != len(hb) {
		t.Fatalf("snapshots of %d and %d users", len(ha), len(hb))
	}
	recA, recB := a.fake.Users(a.conn.ID), b.fake.Users(b.conn.ID)
	for id, h := range ha {
		if string(recA[id].Raw) != string(recB[id].Raw) {
			t.Fatalf("%s was sent differently by the two databases", id)
		}
		if h == hb[id] {
			t.Fatalf("%s hashes alike in two databases: the hash is not keyed", id)
		}
		if h == olderBuildHash(recA[id].Raw) {
			t.Fatalf("%s is hashed with SHA-256", id)
		}
	}
}
