package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"neurons-connector/internal/robustio"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"neurons-connector/connector"
	"neurons-connector/internal/private"
)

// ResendAfterSalvage is the SyncState.Resend of a connector whose users or
// waiting batches `database salvage` could not all read: its next run
// resends every selected user, so that Neurons gets again what was lost.
const ResendAfterSalvage = "database salvage"

// Salvage reads a damaged database as far as it can be read (every
// bucket, forward and, past a damaged page, backward from its end, and the
// list of free pages) into a new file, repairs in it what depends on
// what was lost, and reports. With Write set, and damage found, it puts
// the new file in the old one's place, keeping the damaged file beside
// it; otherwise it removes the new file. The file is read in bbolt's
// read-only mode, which leaves out the list of free pages (one of the
// parts a damaged file loses, and none of its data).
type Salvage struct {
	Path    string
	Write   bool
	Now     time.Time     // names the damaged file kept
	Timeout time.Duration // waiting for another process's lock
}

// SalvageReport is what a Salvage found and did.
type SalvageReport struct {
	// Problems are what the reading and the check of the list of free
	// pages found, one line each; none means the file is sound.
	Problems   []string
	Connectors []SalvagedConnector
	Records    int // values read
	// Orphans are connectors whose configuration was lost: their other
	// data cannot be used, and salvage drops it.
	Orphans []string
	// Damaged is where the damaged file was kept (when written).
	Damaged string
	// Reverted is the transaction salvaged when the last one's pages were
	// damaged and the one before was read whole (or more of it); 0 when
	// the last one was salvaged.
	Reverted uint64

	complete bool // every bucket was read to its end (the damage was elsewhere)
}

// Sound reports whether nothing was found wrong.
func (r SalvageReport) Sound() bool { return len(r.Problems) == 0 }

// SalvagedConnector is one connector's part of a SalvageReport.
type SalvagedConnector struct {
	ID, Name string
	Users    int // in its snapshot
	Batches  int // waiting in its outbox
	// Lost names what of it could not all be read: "users", "waiting
	// batches", "cursor", "state", "secrets", "run history", "held deletes".
	Lost []string
	// Resend is set when its next run resends every selected user.
	Resend bool
}

// maxProblems bounds the problems reported: a file of garbage has as many
// as it has pages.
const maxProblems = 20

// Run does the salvage.
func (s Salvage) Run() (SalvageReport, error) {
	if s.Timeout == 0 {
		s.Timeout = DefaultLockTimeout
	}
	if _, err := os.Stat(s.Path); errors.Is(err, fs.ErrNotExist) {
		return SalvageReport{}, fmt.Errorf("%s: %w", s.Path, ErrNoDatabase)
	} else if err != nil {
		return SalvageReport{}, err
	}
	// A check copies too, to find what depends on what was lost, into the
	// data directory (the copy holds what the database holds), and then
	// removes the copy.
	tmp := s.Path + ".salvage"
	rep, err := s.attempt(s.Path, tmp)
	var inUse *InUseError
	if !errors.As(err, &inUse) && (err != nil || !rep.Sound() && !rep.complete) {
		// bbolt never overwrites the pages of the transaction before the
		// last, and keeps its root in the other meta page: when a power cut
		// or a copy taken mid-write damaged the last transaction's pages,
		// the one before is whole, short of one page's worth of changes
		// that later runs find again (as after a restore).
		if prev, ok := s.previous(tmp, rep, err); ok {
			rep, err = prev, nil
		}
	}
	if err != nil || !s.Write || rep.Sound() {
		_ = os.Remove(tmp)
		return rep, err
	}
	if err = errors.Join(private.Restrict(tmp, false), private.Inherit(tmp)); err == nil {
		rep.Damaged = fmt.Sprintf("%s.damaged-%s", s.Path, s.Now.UTC().Format("20060102T150405Z"))
		// The damaged file gets its second name first (a hard link), so
		// that the database's name never names nothing: a program that
		// started in between would create an empty database there, with
		// no connectors. Where links are not to be had, it is moved.
		if err = os.Link(s.Path, rep.Damaged); err != nil {
			err = robustio.Rename(s.Path, rep.Damaged)
		}
		if err == nil {
			err = robustio.Rename(tmp, s.Path)
		}
	}
	if err == nil {
		syncDir(filepath.Dir(s.Path)) // the renames, through a power cut
	}
	if err != nil {
		_ = os.Remove(tmp)
		return rep, fmt.Errorf("write the salvaged database: %w", err)
	}
	return rep, nil
}

// previous salvages the transaction before the last into tmp when that
// keeps more than the last one did (rep, or failed with failed): all of it
// sound, or more records read.
func (s Salvage) previous(tmp string, rep SalvageReport, failed error) (SalvageReport, bool) {
	older, tx, err := revertedCopy(s.Path)
	if err != nil || older == "" {
		return rep, false
	}
	defer func() { _ = os.Remove(older) }()
	prevTmp := tmp + "-previous"
	prev, err := s.attempt(older, prevTmp)
	if keeps := failed != nil || prev.Sound() || prev.Records > rep.Records; err != nil || !keeps {
		_ = os.Remove(prevTmp)
		return rep, false
	}
	if err := robustio.Rename(prevTmp, tmp); err != nil {
		_ = os.Remove(prevTmp)
		return rep, false
	}
	// What the last transaction's attempt found stays in the report: the
	// file is damaged, whatever the one before holds.
	if failed != nil {
		rep.Problems = append(rep.Problems, "the last transaction cannot be salvaged: "+oneLine(failed.Error()))
	}
	prev.Problems = append(rep.Problems, prev.Problems...)
	prev.Reverted = tx
	return prev, true
}

// attempt copies what can be read of the database at path into a new
// file at tmp and accounts for it there.
func (s Salvage) attempt(path, tmp string) (SalvageReport, error) {
	var rep SalvageReport
	src, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: s.Timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return rep, &InUseError{Path: s.Path}
	}
	if err != nil {
		return rep, fmt.Errorf("database %s cannot be read at all (%v): neither of its two meta pages is sound; "+
			"restore a backup with `neurons-connector database restore FILE`", s.Path, oneLine(err.Error()))
	}
	guard := &DB{path: s.Path, damage: &damage{}}
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true, OpenFile: private.OpenOwn}) // a link planted as tmp is not followed
	if err != nil {
		_ = src.Close()
		return rep, fmt.Errorf("create %s: %w", tmp, err)
	}
	out := &copier{db: dst}
	w := &walker{guard: guard, out: out, lost: map[string]bool{}}
	err = guard.guard(func() error {
		return src.View(func(tx *bolt.Tx) error {
			w.bucket(nil, tx.Cursor().Bucket())
			return nil
		})
	})
	if p := freelistProblem(path); p != "" {
		w.problem("%s", p)
	}
	if out.clashes > 0 {
		w.problem("%d entries were left out: their names were taken by others of another kind", out.clashes)
	}
	_ = src.Close()
	if err == nil {
		err = out.flush()
	}
	rep.Problems, rep.Records, rep.complete = w.problems, w.records, len(w.lost) == 0
	if err == nil {
		err = dst.Update(func(tx *bolt.Tx) error {
			var err error
			rep.Connectors, rep.Orphans, err = w.account(tx)
			return err
		})
		rep.Problems = w.problems // and what the accounting found
	}
	if err == nil {
		dst.NoSync = false
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return rep, err
}

// syncDir flushes a directory's entries, where the system can (not on
// Windows, which has no such call for a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil { //nolint:gosec // G304: the admin's own data directory
		_ = d.Sync()
		_ = d.Close()
	}
}

// walker reads every bucket of the damaged file and copies it to out.
type walker struct {
	guard     *DB
	out       *copier
	lost      map[string]bool // "top" or "top/connector id": not all of it was read
	problems  []string
	records   int
	orphanIDs []string
}

func (w *walker) problem(format string, args ...any) {
	if len(w.problems) < maxProblems {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	} else if len(w.problems) == maxProblems {
		w.problems = append(w.problems, "and more")
	}
}

// bucket reads b (path names it; nil is the root) and the buckets inside
// it. A damaged page stops the cursor: the walk then reads from the end
// backwards down to the last key it had, so that only the keys on the
// damaged pages are lost.
func (w *walker) bucket(path [][]byte, b *bolt.Bucket) {
	if len(path) > 0 {
		w.out.sequence(path, b.Sequence())
	}
	var last []byte
	visit := func(k, v []byte) {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				w.bucket(append(slices.Clip(path), bytes.Clone(k)), nb)
				return
			}
		}
		w.out.put(path, k, v)
		w.records++
	}
	err := w.guard.guard(func() error {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			visit(k, v)
			last = bytes.Clone(k)
		}
		return nil
	})
	if err == nil {
		return
	}
	_ = w.guard.guard(func() error {
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (last == nil || bytes.Compare(k, last) > 0); k, v = c.Prev() {
			visit(k, v)
		}
		return nil
	})
	name := "the root"
	if len(path) > 0 {
		name = string(bytes.Join(path, []byte("/")))
		w.lost[string(path[0])] = true
		if len(path) > 1 {
			w.lost[string(path[0])+"/"+string(path[1])] = true
		}
	}
	var damaged *DamagedError
	if errors.As(err, &damaged) {
		err = errors.New(damaged.Cause)
	}
	w.problem("%s: some entries could not be read (%v)", name, err)
}

// account checks the salvaged copy against its own connectors, in its
// write transaction: it drops what belongs
// to no connector, rebuilds the names index, recounts the snapshots and
// marks for a resend each connector that lost users, batches, its cursor
// or its state.
func (w *walker) account(tx *bolt.Tx) ([]SalvagedConnector, []string, error) {
	if tx.Bucket(bucketConnectors) == nil {
		return nil, nil, errors.New("the file's top level cannot be read, so nothing of it can be salvaged: " +
			"restore a backup with `neurons-connector database restore FILE` (README: Back up and restore), or move the file aside and add the connectors again")
	}
	if err := w.schema(tx); err != nil {
		return nil, nil, err
	}
	// A top-level bucket missing was lost with its name (a damaged key
	// reads as another name): what it held counts as lost. One that is not
	// this version's is such a name, and goes.
	var strays [][]byte
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !slices.ContainsFunc(topBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
			strays = append(strays, bytes.Clone(name))
		}
		return nil
	})
	for _, name := range strays {
		w.problem("a bucket named %q is not this version's (a damaged name): dropped", name)
		if err := tx.DeleteBucket(name); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range topBuckets {
		if tx.Bucket(name) == nil {
			w.problem("the %s bucket was lost", name)
			w.lost[string(name)] = true
		}
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return nil, nil, err
		}
	}
	conns, err := w.configs(tx.Bucket(bucketConnectors))
	if err != nil {
		return nil, nil, err
	}
	if err := w.dropOrphans(tx, conns); err != nil {
		return nil, nil, err
	}
	if err := tx.DeleteBucket(bucketNames); err != nil {
		return nil, nil, err
	}
	names, err := tx.CreateBucket(bucketNames)
	if err != nil {
		return nil, nil, err
	}
	var out []SalvagedConnector
	for _, c := range conns {
		if err := names.Put([]byte(connector.FoldName(c.Name)), []byte(c.ID)); err != nil {
			return nil, nil, err
		}
		sc := w.connector(tx, c)
		if snaps := tx.Bucket(bucketSnapshots).Bucket([]byte(c.ID)); snaps != nil {
			if err := snaps.SetSequence(uint64(sc.Users)); err != nil {
				return nil, nil, err
			}
		}
		if sc.Resend {
			if err := markResend(tx, c.ID); err != nil {
				return nil, nil, err
			}
		}
		out = append(out, sc)
	}
	return out, w.orphanIDs, nil
}

// schema checks the copy's schema version. Salvage knows this version's
// layout only; an older file is refused. A version record that reads as
// garbage, or a meta bucket lost with its page (a damaged key is enough),
// is written anew: the buckets are this version's. The key check is lost
// with it then, and written anew with the next secret sealed; so is the
// record hash key, and with it every stored hash (RecordHashKey).
func (w *walker) schema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	var v []byte
	if meta != nil {
		v = meta.Get(keySchemaVersion)
	}
	if len(v) == 4 && binary.BigEndian.Uint32(v) == SchemaVersion {
		return nil
	}
	if len(v) == 4 && binary.BigEndian.Uint32(v) >= 1 && binary.BigEndian.Uint32(v) < SchemaVersion {
		return fmt.Errorf("the file is of schema version %d, and salvage reads version %d's only: restore the data "+
			"directory from a backup, or salvage with the version that wrote it", binary.BigEndian.Uint32(v), SchemaVersion)
	}
	if meta == nil {
		w.problem("the meta bucket (schema version, key check, record hash key) was lost: written anew for schema version %d; "+
			"the next run of each connector sends all its users again", SchemaVersion)
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
	} else {
		w.problem("the schema version record reads %x: written anew as %d", v, SchemaVersion)
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], SchemaVersion)
	return meta.Put(keySchemaVersion, b[:])
}
