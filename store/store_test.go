package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
	"neurons-connector/fault"
	"neurons-connector/secret"
)

// The names the Okta and OneLogin specs store their secrets under; a
// secret's name is any string to the store.
const (
	secretToken        = "token"
	secretClientSecret = "client_secret"
)

func testKey(t *testing.T) KeyFunc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret.key")
	return func(create bool) (*secret.Sealer, error) { return secret.LoadKeyFile(path, create) }
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), FileName), Options{Create: true, Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func okta(name string) connector.Config {
	c := connector.New(&connector.Spec{Kind: "okta", DefaultStatus: "ACTIVE"}, time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	c.Name = name
	c.URL = "https://acme.okta.com"
	return c
}

func TestOpenWithoutCreateDoesNotMakeAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("Open = %v, want ErrNoDatabase", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file exists after a read-only open: %v", err)
	}
}

func TestNewDatabaseHasModeAndSchema(t *testing.T) {
	db := openTemp(t)
	info, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o600 { // Windows: ACLs, not modes
		t.Errorf("database mode %04o, want 0600", perm)
	}
	err = db.View(func(tx *Tx) error {
		v, empty, err := readVersion(tx.tx)
		if err != nil || empty || v != SchemaVersion {
			t.Errorf("version %d empty %v err %v, want %d", v, empty, err, SchemaVersion)
		}
		for _, b := range topBuckets {
			if tx.bucket(b) == nil {
				t.Errorf("bucket %s missing", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopenLeavesFileBytesAlone(t *testing.T) {
	db := openTemp(t)
	path := db.Path()
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(okta("A")) }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	before := fileHash(t, path)
	db2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db2.View(func(tx *Tx) error { _, err := tx.Connectors(); return err }); err != nil {
		t.Fatal(err)
	}
	_ = db2.Close()
	if fileHash(t, path) != before {
		t.Fatal("opening and reading a current database changed its bytes")
	}
}

// A damaged file (garbage, a truncated copy, a zeroed meta page) is
// refused with a message that says so and what to do, and left as it was.
func TestDamagedDatabaseIsRefusedUntouched(t *testing.T) {
	db := openTemp(t)
	path := db.Path()
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(okta("A")) }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zeroedMeta := append([]byte(nil), good...)
	clear(zeroedMeta[:2*4096]) // both meta pages
	for name, data := range map[string][]byte{
		"garbage":     bytes.Repeat([]byte("not a database "), 600),
		"truncated":   good[:1000],
		"zeroed meta": zeroedMeta,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, path)
			_, err := Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "backup") {
				t.Fatalf("err %v", err)
			}
			if fileHash(t, path) != before {
				t.Error("opening a damaged database changed it")
			}
		})
	}
}

// A file the OS will not open for writing is an error that says what the
// account and the disk must allow (here: a directory where the file should be).
func TestUnwritableDatabaseSaysWhatToCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{Create: true})
	if err == nil || !strings.Contains(err.Error(), "must be able to read and write it") {
		t.Fatalf("err %v", err)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestNamesAreUniqueIgnoringCase(t *testing.T) {
	db := openTemp(t)
	a, b := okta("Okta prod"), okta("OKTA PROD")
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(a) }); err != nil {
		t.Fatal(err)
	}
	err := db.Update(func(tx *Tx) error { return tx.PutConnector(b) })
	var taken *NameTakenError
	if !errors.As(err, &taken) || taken.Existing != "Okta prod" {
		t.Fatalf("second put = %v, want NameTakenError naming the existing connector", err)
	}
	// Renaming frees the old name and takes the new one.
	a.Name = "Okta staging"
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(a) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		if _, err := tx.ConnectorByName("okta prod"); !errors.Is(err, ErrNotFound) {
			t.Errorf("old name still resolves: %v", err)
		}
		got, err := tx.ConnectorByName("OKTA STAGING")
		if err != nil || got.ID != a.ID {
			t.Errorf("new name resolves to %v, %v", got.ID, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutConnector(b) }); err != nil {
		t.Fatalf("the freed name could not be reused: %v", err)
	}
}

func TestSecretsAreSealed(t *testing.T) {
	db := openTemp(t)
	c := okta("A")
	token := "00Distinctive-Token-Value-4242"
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutConnector(c); err != nil {
			return err
		}
		return tx.PutSecret(c.ID, secretToken, secret.New([]byte(token)))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		v, err := tx.Secret(c.ID, secretToken)
		if err != nil || string(v.Reveal()) != token {
			t.Errorf("Secret = %q, %v", v.Reveal(), err)
		}
		if !tx.HasSecret(c.ID, secretToken) || tx.HasSecret(c.ID, secretClientSecret) {
			t.Error("HasSecret is wrong")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Fatal("the database file holds the token in plain text")
	}
}

func TestSealedBlobIsBoundToItsPlace(t *testing.T) {
	db := openTemp(t)
	a, b := okta("A"), okta("B")
	err := db.Update(func(tx *Tx) error {
		for _, c := range []connector.Config{a, b} {
			if err := tx.PutConnector(c); err != nil {
				return err
			}
		}
		if err := tx.PutSecret(a.ID, secretToken, secret.New([]byte("tok-a"))); err != nil {
			return err
		}
		// Copy A's blob under B, as an attacker with write access might.
		blob := tx.bucket(bucketSecrets).Bucket([]byte(a.ID)).Get([]byte(secretToken))
		nb, err := tx.nested(bucketSecrets, b.ID, true)
		if err != nil {
			return err
		}
		return nb.Put([]byte(secretToken), clone(blob))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		_, err := tx.Secret(b.ID, secretToken)
		if !errors.Is(err, secret.ErrWrongKey) {
			t.Errorf("moved blob opened: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWrongAndMissingKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	keyPath := filepath.Join(dir, "secret.key")
	fileKey := func(create bool) (*secret.Sealer, error) { return secret.LoadKeyFile(keyPath, create) }
	db, err := Open(path, Options{Create: true, Key: fileKey})
	if err != nil {
		t.Fatal(err)
	}
	c := okta("A")
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutConnector(c); err != nil {
			return err
		}
		return tx.PutSecret(c.ID, secretToken, secret.New([]byte("tok")))
	})
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(keyPath)
	if err != nil || runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 { // Windows: ACLs, not modes
		t.Fatalf("key file: %v, mode %v", err, info.Mode())
	}

	other, _ := secret.NewSealer(bytes.Repeat([]byte{7}, 32))
	wrong := func(bool) (*secret.Sealer, error) { return other, nil }
	db, err = Open(path, Options{Key: wrong})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error { _, err := tx.Secret(c.ID, secretToken); return err })
	_ = db.Close()
	if !errors.Is(err, secret.ErrWrongKey) || !strings.Contains(err.Error(), "restore the original key") {
		t.Fatalf("wrong key: %v", err)
	}

	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{Key: fileKey})
	if err != nil {
		t.Fatal(err)
	}
	// Writing another secret must not quietly create a new key that would
	// orphan the sealed ones.
	err = db.Update(func(tx *Tx) error {
		return tx.PutSecret(c.ID, secretToken, secret.New([]byte("new")))
	})
	_ = db.Close()
	if !errors.Is(err, secret.ErrNoKeyFile) || !strings.Contains(err.Error(), "restore the key file") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Fatal("a new key file was created while sealed secrets exist")
	}

	// A key file emptied (a full disk) or garbled (an editor): the advice
	// to generate a new key, right for a first key, would orphan the
	// sealed secrets.
	for _, content := range []string{"", "not base64!\n", "c2hvcnQ=\n"} {
		if err := os.WriteFile(keyPath, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		db, err = Open(path, Options{Key: fileKey})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(func(tx *Tx) error { _, err := tx.Secret(c.ID, secretToken); return err })
		_ = db.Close()
		if err == nil || !strings.Contains(err.Error(), "restore the key file from your backup") || strings.Contains(err.Error(), "generate one") ||
			!strings.HasPrefix(err.Error(), keyPath+": ") || !errors.Is(err, fault.ErrConfig) {
			t.Errorf("key file %q: %v", content, err)
		}
	}
}

func TestDeleteConnectorRemovesEverything(t *testing.T) {
	db := openTemp(t)
	a, b := okta("A"), okta("B")
	err := db.Update(func(tx *Tx) error {
		for _, c := range []connector.Config{a, b} {
			if err := tx.PutConnector(c); err != nil {
				return err
			}
			if err := tx.PutSecret(c.ID, secretToken, secret.New([]byte("t"))); err != nil {
				return err
			}
			if err := tx.PutCursor(c.ID, Cursor{Value: []byte("x"), Saved: time.Now()}); err != nil {
				return err
			}
			if err := tx.AddRun(c.ID, Run{ID: "r1", Result: "ok"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error { return tx.DeleteConnector(a.ID) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		for _, top := range perConnector {
			if tx.bucket(top).Get([]byte(a.ID)) != nil || tx.bucket(top).Bucket([]byte(a.ID)) != nil {
				t.Errorf("%s still holds the removed connector", top)
			}
		}
		if _, err := tx.ConnectorByName("A"); !errors.Is(err, ErrNotFound) {
			t.Error("name still resolves")
		}
		if _, ok, _ := tx.Cursor(b.ID); !ok || !tx.HasSecret(b.ID, secretToken) {
			t.Error("the other connector lost its state")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunHistoryKeepsTheNewest(t *testing.T) {
	db := openTemp(t)
	c := okta("A")
	err := db.Update(func(tx *Tx) error {
		for i := range maxRuns + 7 {
			if err := tx.AddRun(c.ID, Run{ID: "r" + string(rune('a'+i%26)), Fetched: i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		all, err := tx.Runs(c.ID, 1000)
		if err != nil {
			return err
		}
		if len(all) != maxRuns || all[0].Fetched != maxRuns+6 || all[len(all)-1].Fetched != 7 {
			t.Errorf("kept %d runs, newest %d, oldest %d", len(all), all[0].Fetched, all[len(all)-1].Fetched)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	db := openTemp(t)
	path := db.Path()
	if err := db.bolt.Update(func(tx *boltTx) error { return writeVersion(tx, SchemaVersion+1) }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this program") {
		t.Fatalf("Open = %v", err)
	}
}

// TestMain regenerates the schema-v1 fixture with -write-fixture, and
// doubles as the helper process that holds a database open for
// TestSecondProcessGetsInUse.
func TestMain(m *testing.M) {
	flag.Parse()
	if *writeFixture {
		if err := writeV1Fixture(); err != nil {
			_, _ = os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv("STORE_TEST_HOLD"); path != "" {
		db, err := Open(path, Options{Create: true})
		if err != nil {
			_, _ = os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		_, _ = os.Stdout.WriteString("held\n")
		_, _ = os.Stdin.Read(make([]byte, 1)) // until the parent closes the pipe
		_ = db.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSecondProcessGetsInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HOLD="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line := make([]byte, 5)
	if _, err := stdout.Read(line); err != nil || string(line) != "held\n" {
		t.Fatalf("helper did not hold the database: %q %v", line, err)
	}
	_, err = Open(path, Options{LockTimeout: 300 * time.Millisecond})
	var inUse *InUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) {
		t.Fatalf("Open = %v, want InUseError", err)
	}
	if !strings.Contains(err.Error(), "service running") || !strings.Contains(err.Error(), path) {
		t.Errorf("message does not name the file and the likely cause: %v", err)
	}
}

// A scan that skips users by ID decodes only the others, in ID order.
func TestForEachSnapshotUnless(t *testing.T) {
	db := openTemp(t)
	err := db.Update(func(tx *Tx) error {
		for _, id := range []string{"u3", "u1", "u2", "u4"} {
			if err := tx.PutSnapshot("c1", id, Snapshot{Status: "ACTIVE", Name: "N " + id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.View(func(tx *Tx) error {
		return tx.ForEachSnapshotUnless("c1", func(id []byte) bool { return string(id) == "u2" || string(id) == "u3" },
			func(id string, s Snapshot) error {
				got = append(got, id+"="+s.Name)
				return nil
			})
	})
	if err != nil || strings.Join(got, ",") != "u1=N u1,u4=N u4" {
		t.Fatalf("%v, %v", got, err)
	}
}

// The number of users a connector has delivered is kept as they come and
// go, not counted from the snapshot's pages (which read the whole bucket).
func TestSnapshotSizeIsKeptThroughPutsAndDeletes(t *testing.T) {
	db := openTemp(t)
	steps := []struct {
		do   func(tx *Tx) error
		want int
	}{
		{func(tx *Tx) error { return tx.PutSnapshot("c1", "u1", Snapshot{Status: "ACTIVE"}) }, 1},
		{func(tx *Tx) error { return tx.PutSnapshot("c1", "u2", Snapshot{Status: "ACTIVE"}) }, 2},
		{func(tx *Tx) error { return tx.PutSnapshot("c1", "u1", Snapshot{Status: "SUSPENDED"}) }, 2}, // a rewrite
		{func(tx *Tx) error { return tx.DeleteSnapshot("c1", "u9") }, 2},                             // not there
		{func(tx *Tx) error { return tx.DeleteSnapshot("c1", "u1") }, 1},
		{func(tx *Tx) error { return tx.DeleteSnapshot("c1", "u1") }, 1}, // twice
		{func(tx *Tx) error { return tx.PutSnapshot("c2", "u1", Snapshot{Status: "ACTIVE"}) }, 1},
	}
	for i, s := range steps {
		if err := db.Update(s.do); err != nil {
			t.Fatal(err)
		}
		_ = db.View(func(tx *Tx) error {
			if got := tx.SnapshotSize("c1"); got != s.want {
				t.Errorf("step %d: SnapshotSize = %d, want %d", i, got, s.want)
			}
			return nil
		})
	}
	// A rolled-back transaction leaves the count as it was.
	_ = db.Update(func(tx *Tx) error {
		_ = tx.PutSnapshot("c1", "u7", Snapshot{})
		return errors.New("rolled back")
	})
	_ = db.View(func(tx *Tx) error {
		if got := tx.SnapshotSize("c1"); got != 1 {
			t.Errorf("after a rollback: %d", got)
		}
		if got := tx.SnapshotSize("c2"); got != 1 {
			t.Errorf("another connector: %d", got)
		}
		if got := tx.SnapshotSize("c3"); got != 0 {
			t.Errorf("a connector with no snapshot: %d", got)
		}
		return nil
	})
}

// Reads and writes of snapshots mixed in one transaction see each other
// (reads go through a cursor kept for the transaction).
func TestSnapshotReadsFollowWritesInOneTransaction(t *testing.T) {
	db := openTemp(t)
	err := db.Update(func(tx *Tx) error {
		for i := range 300 { // several pages, so writes split nodes under the cursor
			if err := tx.PutSnapshot("c1", fmt.Sprintf("u%04d", i), Snapshot{Status: "ACTIVE", Name: strings.Repeat("n", 40)}); err != nil {
				return err
			}
			if _, ok, _ := tx.Snapshot("c1", fmt.Sprintf("u%04d", i)); !ok {
				t.Fatalf("u%04d not read back after its write", i)
			}
			if _, ok, _ := tx.Snapshot("c1", fmt.Sprintf("u%04d", i+1)); ok {
				t.Fatalf("u%04d read before its write", i+1)
			}
		}
		for i := 0; i < 300; i += 2 {
			if err := tx.DeleteSnapshot("c1", fmt.Sprintf("u%04d", i)); err != nil {
				return err
			}
		}
		for i := range 300 {
			s, ok, err := tx.Snapshot("c1", fmt.Sprintf("u%04d", i))
			if err != nil || ok != (i%2 == 1) || ok && s.Status != "ACTIVE" {
				t.Errorf("u%04d: %+v %v %v", i, s, ok, err)
			}
		}
		if n := tx.SnapshotSize("c1"); n != 150 {
			t.Errorf("SnapshotSize = %d, want 150", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A snapshot entry keeps when the user was last queued, after its state
// (present or not); entries of earlier builds, without it, read as 0, and
// a damaged tail is refused.
func TestSnapshotKeepsWhenQueued(t *testing.T) {
	for _, s := range []Snapshot{
		{Hash: [16]byte{1}, Status: "ACTIVE", Name: "Ada", Queued: 1795000000},
		{Hash: [16]byte{2}, Status: "ACTIVE", State: "\x01\x02", Queued: 1795000001},
		{Hash: [16]byte{3}, Status: "SUSPENDED", State: "\x01"},
		{Status: "ACTIVE"},
		{Hash: [16]byte{6}, Status: "ACTIVE", Managers: "00u1,00u2"},
		{Hash: [16]byte{7}, Status: "ACTIVE", State: "\x01", Queued: 1795000002, Managers: "42"},
	} {
		got, err := decodeSnapshot(s.encode())
		if err != nil || got != s {
			t.Errorf("%+v read back as %+v, %v", s, got, err)
		}
	}
	old := Snapshot{Hash: [16]byte{4}, Status: "ACTIVE", State: "x"}.encode() // as before: no Queued
	if got, err := decodeSnapshot(old); err != nil || got.Queued != 0 || got.State != "x" {
		t.Errorf("an older entry: %+v, %v", got, err)
	}
	damaged := append(Snapshot{Hash: [16]byte{5}, Status: "ACTIVE", State: "x"}.encode(), 0x80)
	if _, err := decodeSnapshot(damaged); err == nil {
		t.Error("a damaged tail was read")
	}
	// The managers come last: a build that knows only Queued reads an
	// entry with managers up to there.
	withManagers := Snapshot{Hash: [16]byte{8}, Status: "ACTIVE", Managers: "00u9"}.encode()
	if got, err := decodeSnapshot(withManagers[:len(withManagers)-5]); err != nil || got.Managers != "" || got.Status != "ACTIVE" {
		t.Errorf("an entry cut before its managers: %+v, %v", got, err)
	}
	if _, err := decodeSnapshot(withManagers[:len(withManagers)-1]); err == nil {
		t.Error("a cut list of managers was read")
	}
	// managersOf (ForEachManaged) reads the same field without decoding
	// the others, and refuses what decodeSnapshot refuses.
	for _, s := range []Snapshot{
		{Hash: [16]byte{1}, Status: "ACTIVE", Name: "Ada", Queued: 1795000000},
		{Hash: [16]byte{2}, Status: "ACTIVE", State: "\x01\x02"},
		{Status: "ACTIVE"},
		{Hash: [16]byte{6}, Status: "ACTIVE", Managers: "00u1,00u2"},
		{Hash: [16]byte{7}, Status: "ACTIVE", Name: "Bo", Email: "bo@example.com", Phone: "+1", State: "\x01", Queued: 1795000002, Managers: "42"},
	} {
		enc := s.encode()
		if m, err := managersOf(enc); err != nil || string(m) != s.Managers {
			t.Errorf("%+v: managers %q, %v", s, m, err)
		}
		for cut := 1; cut < len(enc); cut++ {
			_, derr := decodeSnapshot(enc[:cut])
			_, merr := managersOf(enc[:cut])
			if (derr == nil) != (merr == nil) {
				t.Errorf("%+v cut at %d: decodeSnapshot %v, managersOf %v", s, cut, derr, merr)
			}
		}
	}
}

// A first full pass adds a tenant's users in the order the provider lists
// them, a batch's worth per transaction: in ID order (OneLogin's, and the
// Okta simulator's), even if unordered within a transaction's pages (Okta
// promises no order), the pages must end up nearly full, not half empty
// (bbolt's split default), since the end-of-run scan maps all of them into
// the process; in any other order, no worse than bbolt's default
// (splitting at 90 % left them 44 % used); and when every entry grows
// afterwards (a mapping that adds a contact field), full pages split but
// stay more than half used.
func TestSnapshotPagesFillUp(t *testing.T) {
	const users, perTx = 20_000, 1_000
	for _, tc := range []struct {
		name  string
		order []int
		grow  int // bytes every entry gains in a second pass
		least float64
	}{
		{"in ID order", nil, 0, 0.8},
		{"in ID order from one transaction to the next, any order within", shuffledWithin(users, perTx), 0, 0.8},
		{"in random order", rand.New(rand.NewPCG(1, 2)).Perm(users), 0, 0.6},
		{"in ID order, then grown", nil, 40, 0.55},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			write := func(extra int) {
				for start := 0; start < users; start += perTx {
					err := db.Update(func(tx *Tx) error {
						for n := start; n < start+perTx; n++ {
							i := n
							if tc.order != nil {
								i = tc.order[n]
							}
							sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
							s := Snapshot{Hash: [16]byte(sum[:16]), Status: "ACTIVE", Name: fmt.Sprintf("User Number %d", i),
								Email: fmt.Sprintf("user.number.%d@example.com", i), State: "\x01\x02\x03" + strings.Repeat("x", extra)}
							if err := tx.PutSnapshot("c1", fmt.Sprintf("00u%017d", i), s); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			write(0)
			if tc.grow > 0 {
				write(tc.grow)
			}
			_ = db.View(func(tx *Tx) error {
				b, _ := tx.nested(bucketSnapshots, "c1", false)
				st := b.Stats()
				if st.KeyN != users {
					t.Fatalf("%d keys, want %d", st.KeyN, users)
				}
				if used := float64(st.LeafInuse) / float64(st.LeafAlloc); used < tc.least {
					t.Errorf("leaf pages %.0f%% used (%d of %d bytes in %d pages); want at least %.0f%%",
						100*used, st.LeafInuse, st.LeafAlloc, st.LeafPageN, 100*tc.least)
				}
				return nil
			})
		})
	}
}

// shuffledWithin is 0..n-1 in ascending runs of size, each run shuffled.
func shuffledWithin(n, size int) []int {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	for start := 0; start < n; start += size {
		run := out[start:min(start+size, n)]
		r.Shuffle(len(run), func(i, j int) { run[i], run[j] = run[j], run[i] })
	}
	return out
}

// What a sink holds is remembered when the connector leaves it, and put
// back, once, when the connector returns: the users the snapshot no longer
// has come back as delivered, with their status, for the resend to delete.
func TestAFormerSinkIsRememberedAndTakenBack(t *testing.T) {
	db := openTemp(t)
	c := okta("A")
	err := db.Update(func(tx *Tx) error {
		err := tx.PutConnector(c)
		for i, st := range []string{"ACTIVE", "SUSPENDED", "ACTIVE"} {
			err = errors.Join(err, tx.PutSnapshot(c.ID, fmt.Sprintf("u%d", i), Snapshot{Hash: [16]byte{1}, Status: st}))
		}
		err = errors.Join(err, tx.PutSnapshot(c.ID, "never", Snapshot{Status: "ACTIVE"})) // not delivered
		// u4's delete and u0's waited for the sink in the outbox; u0 was
		// queued again since.
		err = errors.Join(err, tx.LeaveSink(c.ID, "the CSV drop in /a", map[string]string{"u4": "ACTIVE", "u0": ""}))
		// Elsewhere, u1 left the tenant and u3 arrived.
		return errors.Join(err, tx.DeleteSnapshot(c.ID, "u1"), tx.DeleteSnapshot(c.ID, "never"),
			tx.PutSnapshot(c.ID, "u3", Snapshot{Hash: [16]byte{3}, Status: "ACTIVE"}))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		if n, err := tx.ReturnToSink(c.ID, "Neurons at https://other"); n != 0 || err != nil {
			return fmt.Errorf("a sink never left gave back %d (%w)", n, err)
		}
		n, err := tx.ReturnToSink(c.ID, "the CSV drop in /a")
		if n != 2 || err != nil {
			return fmt.Errorf("gave back %d users, want 2 (%w)", n, err)
		}
		if s, ok, err := tx.Snapshot(c.ID, "u4"); !ok || err != nil || !s.Delivered() || s.Status != "ACTIVE" {
			return fmt.Errorf("u4, whose delete waited, came back as %+v, %v (%w)", s, ok, err)
		}
		if s, _, _ := tx.Snapshot(c.ID, "u0"); s.Status != "ACTIVE" || s.Hash != [16]byte{1} {
			return fmt.Errorf("u0, in the snapshot, was changed to %+v", s)
		}
		s, ok, err := tx.Snapshot(c.ID, "u1")
		if !ok || err != nil || !s.Delivered() || s.Status != "SUSPENDED" {
			return fmt.Errorf("u1 came back as %+v, %v (%w)", s, ok, err)
		}
		if _, ok, _ := tx.Snapshot(c.ID, "never"); ok {
			return errors.New("a user the sink never had came back")
		}
		if n := tx.SnapshotSize(c.ID); n != 5 {
			return fmt.Errorf("%d users in the snapshot, want 5", n)
		}
		if n, _ := tx.ReturnToSink(c.ID, "the CSV drop in /a"); n != 0 {
			return fmt.Errorf("gave back %d users a second time", n)
		}
		if err := tx.LeaveSink(c.ID, "Neurons at https://other", nil); err != nil {
			return err
		}
		return tx.DeleteConnector(c.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		return tx.bucket(bucketState).ForEach(func(k, _ []byte) error {
			t.Errorf("left in the state bucket after the connector went: %s", k)
			return nil
		})
	})
}
