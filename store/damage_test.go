package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"neurons-connector/fault"
	"neurons-connector/secret"
)

// The damage below is what real files suffer, made the way it happens:
// a page of garbage where bbolt's list of free pages was (a lost write), a
// page of garbage among a snapshot's users (a bad sector), the root of the
// last transaction torn (a power cut while a virtual disk lied about
// flushing, or a backup copied while the service wrote). bbolt meets each
// with a panic.

const testPageSize = 4096

// populated is a database with two connectors: A with 3,000 users (many
// leaf pages), three waiting batches, a cursor, a state, a run and a
// sealed token; B with 50 users. It returns the path, closed.
func populated(t *testing.T) (string, KeyFunc) {
	t.Helper()
	dir := t.TempDir()
	key := func(create bool) (*secret.Sealer, error) {
		return secret.LoadKeyFile(filepath.Join(dir, "secret.key"), create)
	}
	db, err := Open(filepath.Join(dir, FileName), Options{Create: true, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	a, b := okta("A"), okta("B")
	err = db.Update(func(tx *Tx) error {
		for _, c := range []struct {
			conn  string
			users int
		}{{a.ID, 3000}, {b.ID, 50}} {
			for i := range c.users {
				id := userID(c.conn, i)
				if err := tx.PutSnapshot(c.conn, id, Snapshot{Status: "ACTIVE", Name: "User " + id, Email: id + "@example.com"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = db.Update(func(tx *Tx) error {
			err := errors.Join(tx.PutConnector(a), tx.PutConnector(b), tx.PutSecret(a.ID, secretToken, secret.New([]byte("00-token"))),
				tx.PutCursor(a.ID, Cursor{Value: []byte("2026-01-05T10:00:00Z"), Saved: time.Unix(1767607200, 0)}),
				tx.PutSyncState(a.ID, SyncState{Sink: "the CSV drop in /x", MappingHash: "m1"}),
				tx.AddRun(a.ID, Run{ID: "r_1", Result: "ok"}))
			for i := range 3 {
				if _, e := tx.Enqueue(a.ID, fmt.Sprintf("%s:r_1:%d", a.ID, i+1), 1, []byte(`{"batch":`+fmt.Sprint(i)+`}`)); e != nil {
					err = errors.Join(err, e)
				}
			}
			return err
		})
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, FileName), key
}

// userID is the source ID populated gives user i of connector connID.
func userID(connID string, i int) string { return fmt.Sprintf("00u%s%05d", connID[len(connID)-4:], i) }

// mustOpen opens the database at path until the test ends.
func mustOpen(t *testing.T, path string, key KeyFunc) *DB {
	t.Helper()
	db, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// salvaged salvages the database at path in place.
func salvaged(t *testing.T, path string) SalvageReport {
	t.Helper()
	rep, err := Salvage{Path: path, Write: true, Now: time.Now()}.Run()
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// meta reads the current meta page's root and freelist page numbers.
func meta(t *testing.T, path string) (root, freelist uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	m, _, at := readMetas(f)
	var b [8]byte // the root bucket's page, first of the meta's fields after the four words
	if _, err := f.ReadAt(b[:], at+metaFields+16); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:]), m.freelist
}

// garble overwrites page id's header and first bytes with garbage.
func garble(t *testing.T, path string, id uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA7, 0x3C, 0x91, 0x5E}, 32), int64(id)*testPageSize); err != nil {
		t.Fatal(err)
	}
}

// leavesHolding are the leaf pages (current or freed copies) that hold key.
func leavesHolding(t *testing.T, path, key string) []uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for off := 2 * testPageSize; off+testPageSize <= len(data); off += testPageSize {
		page := data[off : off+testPageSize]
		if binary.LittleEndian.Uint16(page[8:]) == 0x02 && bytes.Contains(page, []byte(key)) {
			ids = append(ids, uint64(off/testPageSize))
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no leaf page holds %s", key)
	}
	return ids
}

func TestADamagedFreeListIsAnErrorAndSalvageKeepsEverything(t *testing.T) {
	path, key := populated(t)
	_, freelist := meta(t, path)
	garble(t, path, freelist)

	_, err := Open(path, Options{Key: key}) // panicked in bbolt.Open before
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, fault.ErrConfig) || !strings.Contains(err.Error(), "neurons-connector database salvage") {
		t.Fatalf("open: %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error on more than one line: %q", err)
	}

	check, err := Salvage{Path: path}.Run()
	if err != nil || check.Sound() || !strings.Contains(strings.Join(check.Problems, " "), "the list of free pages (page ") {
		t.Fatalf("check: %+v, %v", check, err)
	}
	if _, err := Open(path, Options{Key: key}); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a check changed the file: %v", err)
	}
	rep, err := Salvage{Path: path, Write: true, Now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Damaged != path+".damaged-20261204T100000Z" || rep.Reverted != 0 || len(rep.Connectors) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range rep.Connectors {
		if len(c.Lost) != 0 || c.Resend {
			t.Errorf("%s lost %v although only the free list was damaged", c.Name, c.Lost)
		}
	}
	if _, err := os.Stat(rep.Damaged); err != nil {
		t.Errorf("the damaged file is not kept: %v", err)
	}
	db, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	err = db.View(func(tx *Tx) error {
		a, err := tx.ConnectorByName("a") // the names index, rebuilt
		if err != nil {
			return err
		}
		tok, err := tx.Secret(a.ID, secretToken)
		if err != nil || string(tok.Reveal()) != "00-token" {
			return fmt.Errorf("secret: %w", err)
		}
		st, _ := tx.SyncState(a.ID)
		if n := tx.SnapshotSize(a.ID); n != 3000 || tx.OutboxDepth(a.ID) != 3 || st.Resend != "" || st.MappingHash != "m1" {
			return fmt.Errorf("users %d, batches %d, state %+v", n, tx.OutboxDepth(a.ID), st)
		}
		if _, ok, _ := tx.Cursor(a.ID); !ok {
			return errors.New("cursor lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A new batch goes after the salvaged ones: the outbox's numbering came along.
	err = db.Update(func(tx *Tx) error {
		a, _ := tx.ConnectorByName("A")
		seq, err := tx.Enqueue(a.ID, a.ID+":r_2:1", 1, []byte("{}"))
		if err == nil && seq != 4 {
			err = fmt.Errorf("new batch numbered %d, want 4", seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestADamagedSnapshotPageIsAnErrorAndSalvageResends(t *testing.T) {
	path, key := populated(t)
	var aID string
	db, err := Open(path, Options{Key: key})
	if err == nil {
		err = db.View(func(tx *Tx) error {
			a, err := tx.ConnectorByName("A")
			aID = a.ID
			return err
		})
		_ = db.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	victim := userID(aID, 1500)
	for _, id := range leavesHolding(t, path, victim) {
		garble(t, path, id)
	}

	db, err = Open(path, Options{Key: key}) // the free list is sound: it opens
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		_, _, err := tx.Snapshot(aID, victim)
		return err
	})
	if !errors.Is(err, ErrDamaged) || db.Damaged() == nil {
		t.Fatalf("reading a garbled page: %v (Damaged %v)", err, db.Damaged())
	}
	// The rest of the database still reads.
	if err := db.View(func(tx *Tx) error { _, err := tx.Connectors(); return err }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	rep := salvaged(t, path)
	var a, b SalvagedConnector
	for _, c := range rep.Connectors {
		if c.Name == "A" {
			a = c
		} else {
			b = c
		}
	}
	if !a.Resend || strings.Join(a.Lost, ",") != "users" || a.Users >= 3000 || a.Users < 2800 || a.Batches != 3 {
		t.Errorf("A: %+v", a)
	}
	if b.Resend || len(b.Lost) != 0 || b.Users != 50 {
		t.Errorf("B: %+v", b)
	}
	db = mustOpen(t, path, key)
	err = db.View(func(tx *Tx) error {
		st, err := tx.SyncState(aID)
		if err != nil || st.Resend != ResendAfterSalvage || st.Sink != "the CSV drop in /x" {
			return fmt.Errorf("state %+v, %w", st, err)
		}
		if n := tx.SnapshotSize(aID); n != a.Users {
			return fmt.Errorf("snapshot counted %d, holds %d", n, a.Users)
		}
		// Users after the damaged page were read backwards from the end.
		last := userID(aID, 2999)
		if _, ok, err := tx.Snapshot(aID, last); !ok || err != nil {
			return fmt.Errorf("the last user is lost: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestATornLastTransactionIsSalvagedFromTheOneBefore(t *testing.T) {
	path, key := populated(t)
	db, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error { return tx.PutConnector(okta("C")) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	root, _ := meta(t, path)
	garble(t, path, root)

	rep := salvaged(t, path)
	if rep.Reverted == 0 || rep.Sound() || len(rep.Connectors) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range rep.Connectors {
		if len(c.Lost) != 0 {
			t.Errorf("%s lost %v", c.Name, c.Lost)
		}
	}
	db = mustOpen(t, path, key)
	err = db.View(func(tx *Tx) error {
		all, err := tx.Connectors()
		if err != nil || len(all) != 2 {
			return fmt.Errorf("connectors %d, %w (C was the lost transaction)", len(all), err)
		}
		a, err := tx.ConnectorByName("A")
		if err == nil && tx.SnapshotSize(a.ID) != 3000 {
			err = fmt.Errorf("A has %d users", tx.SnapshotSize(a.ID))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestASoundDatabaseIsNotSalvaged(t *testing.T) {
	path, _ := populated(t)
	before := fileHash(t, path)
	rep, err := Salvage{Path: path, Write: true, Now: time.Now()}.Run()
	if err != nil || !rep.Sound() || rep.Damaged != "" || len(rep.Connectors) != 2 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if fileHash(t, path) != before {
		t.Error("a sound database was rewritten")
	}
	left, _ := filepath.Glob(path + ".*")
	if len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}

func TestAConnectorWithoutItsConfigurationIsDropped(t *testing.T) {
	path, key := populated(t)
	db, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var bID string
	err = db.Update(func(tx *Tx) error {
		b, err := tx.ConnectorByName("B")
		bID = b.ID
		if err == nil {
			err = tx.bucket(bucketConnectors).Put([]byte(b.ID), []byte(`{"id":`)) // half a record
		}
		return err
	})
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep := salvaged(t, path)
	if len(rep.Connectors) != 1 || rep.Connectors[0].Name != "A" || len(rep.Orphans) != 1 || rep.Orphans[0] != bID {
		t.Fatalf("report %+v", rep)
	}
	db = mustOpen(t, path, key)
	err = db.View(func(tx *Tx) error {
		if all, err := tx.Connectors(); err != nil || len(all) != 1 {
			return fmt.Errorf("connectors after the salvage: %d, %w", len(all), err)
		}
		if tx.SnapshotSize(bID) != 0 {
			return errors.New("the dropped connector's users are still there")
		}
		if _, err := tx.ConnectorByName("B"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("the names index still names B: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A panic of the program's own, inside a transaction, is a bug and stays
// a panic: reporting it as damage would send the admin to salvage a sound file.
func TestAPanicOutsideBboltIsNotDamage(t *testing.T) {
	db := openTemp(t)
	defer func() {
		if p := recover(); p != "a bug" {
			t.Fatalf("recovered %v", p)
		}
		if db.Damaged() != nil {
			t.Error("a bug was taken for damage")
		}
	}()
	_ = db.View(func(*Tx) error { panic("a bug") })
}

// A branch page that points past the end of the file made bbolt read
// memory nothing maps: a fault, which Go does not recover unless asked to.
func TestAPagePastTheEndIsDamageNotACrash(t *testing.T) {
	path, key := populated(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := 2 * testPageSize; off+testPageSize <= len(data); off += testPageSize {
		if binary.LittleEndian.Uint16(data[off+8:]) == 0x01 { // a branch page: its first element's page number
			binary.LittleEndian.PutUint64(data[off+16+8:], 1<<34)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no branch page")
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	err = db.View(func(tx *Tx) error {
		all, err := tx.Connectors()
		for _, c := range all {
			err = errors.Join(err, tx.ForEachSnapshot(c.ID, func(string, Snapshot) error { return nil }))
		}
		return err
	})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("reading through a page past the end: %v", err)
	}
	_ = db.Close()
	// bbolt's own check (Tx.Check) reads pages in a goroutine of its own,
	// where such a page ended the program: salvage reads in its own.
	rep := salvaged(t, path)
	if rep.Sound() || len(rep.Connectors) != 2 || rep.Connectors[0].Resend != true {
		t.Errorf("salvage past the end: %+v", rep)
	}
}

// A page whose layout survived can still hold a value of garbage: such an
// entry failed every run that read it. Salvage drops it and resends.
func TestAValueOfGarbageIsDroppedAndResent(t *testing.T) {
	path, key := populated(t)
	db, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var aID, victim string
	err = db.Update(func(tx *Tx) error {
		a, err := tx.ConnectorByName("A")
		aID, victim = a.ID, userID(a.ID, 7)
		if err == nil {
			snaps, _ := tx.nested(bucketSnapshots, a.ID, false)
			err = errors.Join(snaps.Put([]byte(victim), []byte{0xff, 0xff, 0xff}),
				tx.bucket(bucketCursors).Put([]byte(a.ID), []byte("{not json")))
		}
		return err
	})
	if err == nil {
		err = db.View(func(tx *Tx) error { _, _, err := tx.Snapshot(aID, victim); return err })
		if err == nil {
			t.Fatal("the garbage entry decodes")
		}
		err = nil
	}
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep := salvaged(t, path)
	a := rep.Connectors[0]
	if a.Name != "A" || strings.Join(a.Lost, ",") != "users,cursor" || !a.Resend || a.Users != 2999 || rep.Sound() {
		t.Fatalf("report %+v", rep)
	}
	db = mustOpen(t, path, key)
	err = db.View(func(tx *Tx) error {
		if _, ok, err := tx.Snapshot(aID, victim); ok || err != nil {
			return fmt.Errorf("the garbage entry is still there (%w)", err)
		}
		if _, ok, err := tx.Cursor(aID); ok || err != nil {
			return fmt.Errorf("the garbage cursor is still there (%w)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Garbage in the list of free pages that still looks like a list: bbolt
// opened the file, and the next write would have put pages over pages in
// use, damaging what was sound. Open refuses it; salvage writes a file with
// a list of its own.
func TestAFreeListOfGarbageIsNotWrittenThrough(t *testing.T) {
	path, key := populated(t)
	_, freelist := meta(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var head [16]byte
	if _, err := f.ReadAt(head[:], int64(freelist)*testPageSize); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint16(head[10:]) == 0 {
		t.Fatal("the free list is empty: nothing to garble")
	}
	_, err = f.WriteAt(bytes.Repeat([]byte{0x07}, 8), int64(freelist)*testPageSize+16) // its first page number
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{Key: key}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "the list of free pages") {
		t.Fatalf("open: %v", err)
	}
	rep := salvaged(t, path)
	if rep.Sound() || rep.Connectors[0].Users != 3000 || len(rep.Connectors[0].Lost) != 0 {
		t.Fatalf("salvage: %+v", rep)
	}
	db := mustOpen(t, path, key)
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(okta("C")) }); err != nil {
		t.Fatal(err)
	}
}

// Batches waiting for the sink on a damaged page: the rest are kept in
// order, the numbering goes on after the last one (no later batch takes a
// number the sink may have seen), and the connector resends.
func TestDamagedWaitingBatchesAreResent(t *testing.T) {
	path, key := populated(t)
	db := mustOpen(t, path, key)
	var aID string
	err := db.Update(func(tx *Tx) error {
		a, err := tx.ConnectorByName("A")
		aID = a.ID
		for i := 4; i <= 200 && err == nil; i++ {
			_, err = tx.Enqueue(a.ID, fmt.Sprintf("%s:r_2:%d", a.ID, i), 1, bytes.Repeat([]byte{byte(i)}, 1500))
		}
		return err
	})
	if err == nil {
		// A later transaction: the damaged pages below are then in the
		// transaction before too, and salvage cannot fall back on it.
		err = db.Update(func(tx *Tx) error { return tx.PutConnector(okta("C")) })
	}
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The key of batch 100 is its sequence number, big endian, in a leaf.
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], 100)
	for _, id := range leavesHolding(t, path, string(append(seq[:], 0, 0))[:8]) {
		garble(t, path, id)
	}
	rep := salvaged(t, path)
	a := rep.Connectors[0]
	if a.Name != "A" || !slices.Contains(a.Lost, "waiting batches") || !a.Resend || a.Batches >= 200 || a.Batches < 150 || rep.Reverted != 0 {
		t.Fatalf("A: %+v (reverted to %d)", a, rep.Reverted)
	}
	db = mustOpen(t, path, key)
	err = db.Update(func(tx *Tx) error {
		n, err := tx.Enqueue(aID, aID+":r_3:1", 1, []byte("{}"))
		if err == nil && n != 201 {
			err = fmt.Errorf("the next batch is numbered %d, want 201", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Damage wherever it falls: pages of garbage at random (headers, middles,
// meta pages among them), then a check and a salvage. Neither may crash
// (bbolt's own check did, on a page number past the end); a salvage that
// writes leaves a file that opens, reads whole and checks sound, with each
// snapshot counted as it holds.
func TestSalvageSurvivesRandomDamage(t *testing.T) {
	good, key := populated(t)
	pristine, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	pages := len(pristine) / testPageSize
	rng := rand.New(rand.NewPCG(17, uint64(pages)))
	for i := range 60 {
		data := bytes.Clone(pristine)
		for range 1 + rng.IntN(4) {
			pg := rng.IntN(pages)
			if rng.IntN(10) == 0 {
				pg = rng.IntN(2) // a meta page
			}
			off := pg*testPageSize + rng.IntN(testPageSize-64)
			if rng.IntN(2) == 0 {
				off = pg * testPageSize // the header
			}
			for j := range 64 {
				data[off+j] = byte(rng.Uint32())
			}
		}
		path := filepath.Join(t.TempDir(), FileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := (Salvage{Path: path}).Run(); err != nil && !strings.Contains(err.Error(), "cannot") {
			t.Fatalf("round %d: check: %v", i, err)
		}
		rep, err := Salvage{Path: path, Write: true, Now: time.Now()}.Run()
		if err != nil {
			if !strings.Contains(err.Error(), "cannot") && !strings.Contains(err.Error(), "restore") {
				t.Fatalf("round %d: salvage: %v", i, err)
			}
			continue // nothing to salvage: its error says so
		}
		db, err := Open(path, Options{Key: key})
		if err != nil {
			t.Fatalf("round %d: the salvaged file (%+v) does not open: %v", i, rep, err)
		}
		err = db.View(func(tx *Tx) error {
			all, err := tx.Connectors()
			for _, c := range all {
				n := 0
				err = errors.Join(err, tx.ForEachSnapshot(c.ID, func(string, Snapshot) error { n++; return nil }))
				if n != tx.SnapshotSize(c.ID) {
					err = errors.Join(err, fmt.Errorf("%s: %d users, counted %d", c.Name, n, tx.SnapshotSize(c.ID)))
				}
			}
			return err
		})
		_ = db.Close()
		if err != nil {
			t.Fatalf("round %d: the salvaged file reads badly: %v", i, err)
		}
		if again, err := (Salvage{Path: path}).Run(); err != nil || !again.Sound() {
			t.Fatalf("round %d: the salvaged file checks %+v, %v", i, again.Problems, err)
		}
	}
}
