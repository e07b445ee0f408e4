// Package store owns the connector's bbolt database: connector
// configurations, sealed secrets, provider cursors, per-connector snapshots,
// the outbox, run history, and the schema's migrations. No *bbolt.Tx leaves
// the package; callers work through Tx, one transaction per logical step.
//
// Layout (schema version 6; names in schema.go):
//
//	meta/
//	    schema_version       uint32, big endian
//	    key_check            sealed constant: proves the secret key matches
//	    record_hash_key      32 random bytes: the key of the snapshot's record hashes
//	connectors/
//	    <connector id>       JSON connector.Config (no secrets)
//	names/
//	    <folded name>        connector id (unique, case-insensitive names)
//	secrets/
//	    <connector id>/      one bucket per connector
//	        <secret name>    AES-256-GCM blob, AAD "<connector id>/<secret name>"
//	cursors/
//	    <connector id>       JSON Cursor: the provider's opaque position + when saved
//	snapshots/
//	    <connector id>/      one bucket per connector; its sequence is its number of users
//	        <source id>      Snapshot: record hash (keyed; SHA-256 in older entries),
//	                         status, contact, the provider's state of the user (binary)
//	outbox/
//	    <connector id>/      one bucket per connector; its sequence numbers batches
//	        <seq uint64 BE>  uvarint record count, uvarint key length, the batch's
//	                         Idempotency-Key, then the batch waiting for the sink
//	runs/
//	    <connector id>/      one bucket per connector
//	        <seq uint64 BE>  JSON Run, the newest maxRuns kept
//	state/
//	    <connector id>       JSON SyncState: last full run, config and mapping hashes,
//	                         the provider's identity, the last full pass's pages, the hold,
//	                         the sink the snapshot was built for
//	    <connector id>/rejected  JSON Rejection: the batch the sink refused (400), if any
//	    <connector id>/short     JSON Shortfall: records the sink acknowledged short, if any
//	    <connector id>/former/<sink hash>  S2 "id\tstatus" lines: the users a sink the
//	                             connector moved away from holds (former.go)
//	sinkstate/
//	    <connector id>/      the CSV sink's records as earlier versions kept them; the sink
//	        <source id>      now keeps files and moves these out (JSON attributes)
//	held/
//	    <connector id>/      deletes the deletion guard holds back
//	        <source id>      the delete's reason
//
// Schema version 1 (the first development builds) had no names index, kept
// secrets flat under secrets/"<id>/<name>", had no snapshots, outbox or runs
// buckets, and stored configurations without rate share, full-run interval
// and schedule anchor. migrate1to2 converts it. Version 2 lacked the state
// and sinkstate buckets (migrate2to3); version 3 the held bucket and the
// connectors' deletion guard (migrate3to4); version 4 did not count a
// connector's snapshots in the sequence of its bucket (migrate4to5). A snapshot entry of an older
// build lacks the provider's state, which reads as none.
package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"neurons-connector/internal/private"
	"neurons-connector/secret"
)

// FileName is the database's name inside the data directory.
const FileName = "neurons-connector.db"

// DefaultLockTimeout is how long Open waits for another process to release
// the database before it gives up.
const DefaultLockTimeout = 2 * time.Second

var (
	// ErrInUse means another process holds the database.
	ErrInUse = errors.New("database is in use by another process")
	// ErrNoDatabase means the file does not exist and Open was not asked to create it.
	ErrNoDatabase = errors.New("database does not exist yet")
	// ErrNotFound means the connector (or other record) does not exist.
	ErrNotFound = errors.New("not found")
)

// InUseError says which file is held; its message tells the admin what to do.
type InUseError struct{ Path string }

func (e *InUseError) Error() string {
	return fmt.Sprintf("database %s is in use by another process: is the neurons-connector service running? "+
		"Stop it (neurons-connector service stop) or wait for the other command to finish", e.Path)
}

// Unwrap lets errors.Is(err, ErrInUse) match.
func (e *InUseError) Unwrap() error { return ErrInUse }

// KeyFunc returns the sealing key. create is true when the database holds no
// sealed secret yet, so a missing key file may be created; when false, a
// missing key is an error because existing secrets need the old key.
type KeyFunc func(create bool) (*secret.Sealer, error)

// Options tune Open.
type Options struct {
	// Create makes Open create a missing database file (mode 0600). Read-only
	// commands leave it false so that they never create a file.
	Create bool
	// LockTimeout bounds the wait for another process; DefaultLockTimeout if 0.
	LockTimeout time.Duration
	// Key supplies the sealing key, loaded only when a secret is touched.
	Key KeyFunc
}

// DB is an open database.
type DB struct {
	bolt *bolt.DB
	path string
	key  KeyFunc

	mu     sync.Mutex
	sealer *secret.Sealer

	borrowed bool    // Close leaves the database open: see Borrow
	damage   *damage // shared with borrowed handles
}

// Open opens (and migrates) the database at path.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	info, statErr := os.Stat(path) //nolint:gosec // G703: the path is the admin's own data directory setting
	if !opts.Create && errors.Is(statErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoDatabase)
	}
	if statErr == nil && info.Mode().IsRegular() && info.Size() > 0 {
		if err := readFirst(path, opts.LockTimeout); err != nil {
			return nil, err
		}
	}
	b, err := openBolt(path, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	if opts.Create {
		// Its own access rules (Windows: SYSTEM, Administrators, the
		// service; Unix: 0600), and root creating the file beside a service
		// that runs as its own account hands it over.
		if err := errors.Join(private.Restrict(path, false), private.Inherit(path)); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	d := &DB{bolt: b, path: path, key: opts.Key, damage: &damage{}}
	if err := d.guard(d.migrate); err != nil {
		_ = b.Close()
		var damaged *DamagedError
		if errors.As(err, &damaged) {
			return nil, err
		}
		if refused := d.space(err); refused != err { //nolint:errorlint // whether space named the system's refusal
			return nil, refused
		}
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return d, nil
}

// readFirst opens the database at path read-only and checks its list of
// free pages, before Open opens it to write. bbolt takes that list as it
// finds it: garbage there that still looks like a list would have the next
// write put pages over pages in use. Opened to write, bbolt on
// Windows grows a file to its first mapping before it has read the meta
// pages (a file of garbage came out larger), and a list of free pages of
// garbage makes it panic once the mapping is made, which then stays for
// the process's life: Windows will not replace a mapped file, which
// salvage and restore do. Read-only, bbolt neither grows the file nor
// reads that list, and its shared lock keeps writers out while the list
// is checked (a writer after it is this program, which writes sound lists).
func readFirst(path string, timeout time.Duration) error {
	ro, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return openError(path, err)
	}
	p := freelistProblem(path)
	_ = ro.Close()
	if p != "" {
		return &DamagedError{Path: path, Cause: p}
	}
	return nil
}

// openError says why bbolt would not open the database at path.
func openError(path string, err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return &InUseError{Path: path}
	}
	var pathErr *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &errno) && errors.Is(err, syscall.ENOMEM) {
		// bbolt maps the whole file: the system refused it the address
		// space, which is no damage (TestADatabaseTheSystemWillNotMapIsNotDamaged).
		return mapRefused("open database", path, err)
	}
	if !errors.As(err, &pathErr) && !errors.As(err, &errno) {
		// Not the OS refusing the file (permissions, a read-only or full
		// disk, a mapping it will not make), so bbolt found the file
		// itself wrong: no valid meta page, a bad checksum, a truncated
		// file.
		var damaged *DamagedError
		if !errors.As(err, &damaged) {
			err = &DamagedError{Path: path, Cause: oneLine(err.Error())}
		}
		return err
	}
	return fmt.Errorf("open database %s: %w; the account running neurons-connector must be able to read and "+
		"write it (owner and mode 0600), on a disk that is writable and not full", path, err)
}

// openBolt is bolt.Open, with bbolt's panics on a damaged file (a
// freelist page of garbage, say) returned as a DamagedError, and the file
// it had opened closed again, so that its lock goes with it.
func openBolt(path string, opts *bolt.Options) (b *bolt.DB, err error) {
	var file *os.File
	opts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := private.OpenOwn(name, flag, mode) // a link planted beside it is not followed
		file = f
		return f, err
	}
	err = (&DB{path: path, damage: &damage{}}).guard(func() error {
		var err error
		b, err = bolt.Open(path, 0o600, opts)
		return err
	})
	if err != nil && b == nil && file != nil {
		unlock(file)
		_ = file.Close()
	}
	return b, err
}

// Path is the database file's path.
func (d *DB) Path() string { return d.path }

// Close releases the file and its lock.
func (d *DB) Close() error {
	if d.borrowed {
		return nil
	}
	return d.bolt.Close()
}

// Borrow returns another handle on the open database whose Close does
// nothing: the daemon lends it to the commands it runs for the CLI, which
// close what they open, while it keeps the database open.
func (d *DB) Borrow() *DB {
	return &DB{bolt: d.bolt, path: d.path, key: d.key, borrowed: true, damage: d.damage}
}

// PathIn returns the database path inside dataDir.
func PathIn(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Tx is one transaction. It is valid only inside the function given to View
// or Update; values it returns are copies that outlive it.
type Tx struct {
	tx *bolt.Tx
	db *DB
	// nestedCache keeps the per-connector buckets found so far: bbolt
	// looks a bucket up again on every call in a read transaction, which
	// made a user's snapshot read three B+tree searches instead of one.
	nestedCache map[nestedKey]*bolt.Bucket
	// seekers keeps a cursor per bucket for lookup: bbolt's Get makes a
	// new cursor, and grows a new search stack, on every call.
	seekers map[*bolt.Bucket]*bolt.Cursor
	// tails keeps the last key of each bucket put writes to, as the
	// transaction found it.
	tails map[*bolt.Bucket][]byte
}

// lookup is b.Get through the transaction's cursor for b, which keeps its
// search stack from one lookup to the next.
func (t *Tx) lookup(b *bolt.Bucket, key []byte) []byte {
	c := t.seekers[b]
	if c == nil {
		if t.seekers == nil {
			t.seekers = map[*bolt.Bucket]*bolt.Cursor{}
		}
		c = b.Cursor()
		t.seekers[b] = c
	}
	// Seek searches from the root every time, so a write since the last
	// lookup cannot leave it on a stale position.
	k, v := c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// put is b.Put for keys that may come in any order (users' IDs). bbolt
// splits pages when the transaction commits, so what decides how full they
// stay is where the transaction's new keys land, not the order it adds
// them in: all past b's last key as the transaction found it, and pages
// fill up to fillPercent; one between existing keys, and the whole
// transaction's pages split as bbolt splits them by default. It reports
// whether key is new to b.
func (t *Tx) put(b *bolt.Bucket, key, value []byte) (bool, error) {
	tail, ok := t.tails[b]
	if !ok {
		last, _ := b.Cursor().Last()
		tail = bytes.Clone(last) // nil for an empty bucket
		if t.tails == nil {
			t.tails = map[*bolt.Bucket][]byte{}
		}
		t.tails[b] = tail
	}
	isNew := t.lookup(b, key) == nil
	if isNew && tail != nil && bytes.Compare(key, tail) < 0 {
		b.FillPercent = bolt.DefaultFillPercent
	}
	return isNew, b.Put(key, value)
}

// nestedKey names a per-connector bucket: its top-level bucket and its ID.
// The top-level bucket is told by its name's address (the names are the
// package's bucket variables): a key made of the name's text cost an
// allocation on every snapshot read.
type nestedKey struct {
	top *byte
	id  string
}

// View runs fn in a read-only transaction.
func (d *DB) View(fn func(*Tx) error) error {
	return d.guard(func() error {
		return d.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, db: d}) })
	})
}

// Update runs fn in a read-write transaction: everything fn writes is
// committed together, or nothing is if fn returns an error.
// A commit the disk refuses is a SpaceError, one the system will not map
// names the limit (space); fn's own errors are returned as they are.
func (d *DB) Update(fn func(*Tx) error) error {
	var fnErr error
	err := d.guard(func() error {
		return d.bolt.Update(func(tx *bolt.Tx) error {
			fnErr = fn(&Tx{tx: tx, db: d})
			return fnErr
		})
	})
	if err != nil && err != fnErr { //nolint:errorlint // the very value fn returned, not one wrapping it
		return d.space(err)
	}
	return err
}

func (t *Tx) bucket(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

// fillPercent is how full the pages of a per-connector bucket are left
// when a write appends past its last key and splits them. bbolt's default,
// half, suits keys that arrive in any order, but most arrive in ascending
// order here (batches and runs are numbered in sequence, and a first full
// pass adds users in listing order, ascending by ID where a provider keeps
// that order), and then every split left a page half empty behind it for
// good: a 1,000,000-user snapshot took 227 MB of pages for 109 MB of
// entries, all of it mapped into the process by the end-of-run scan. A
// tenth is left free so that an entry that grows a little (a longer
// e-mail, a new app) rarely splits its page. A transaction that inserts
// before a bucket's last key goes back to the default (put): with keys in
// random order, pages split at 90 % ended 44 % used, at half 70 %.
const fillPercent = 0.9

// nested returns the per-connector bucket id under top, creating it in write
// transactions when create is set. It returns nil if absent.
func (t *Tx) nested(top []byte, id string, create bool) (*bolt.Bucket, error) {
	key := nestedKey{&top[0], id}
	if b, ok := t.nestedCache[key]; ok {
		return b, nil
	}
	parent := t.bucket(top)
	b := parent.Bucket([]byte(id))
	if b == nil && create {
		var err error
		if b, err = parent.CreateBucket([]byte(id)); err != nil {
			return nil, fmt.Errorf("create %s/%s: %w", top, id, err)
		}
	}
	if b != nil {
		b.FillPercent = fillPercent // per transaction: bbolt does not keep it
		if t.nestedCache == nil {
			t.nestedCache = map[nestedKey]*bolt.Bucket{}
		}
		t.nestedCache[key] = b
	}
	return b, nil
}

// deleteNested removes the per-connector bucket id under top, if there is one.
func (t *Tx) deleteNested(top []byte, id string) error {
	if b, ok := t.nestedCache[nestedKey{&top[0], id}]; ok {
		delete(t.seekers, b)
		delete(t.tails, b)
		delete(t.nestedCache, nestedKey{&top[0], id})
	}
	parent := t.bucket(top)
	if parent.Bucket([]byte(id)) == nil {
		return nil
	}
	return parent.DeleteBucket([]byte(id))
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// clone copies bytes read inside a transaction, which bbolt invalidates at
// its end.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
