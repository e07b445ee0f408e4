package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"neurons-connector/internal/robustio"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"neurons-connector/internal/private"
)

// ResendAfterRestore is the SyncState.Resend of every connector of a
// database put back from a copy (database restore). The copy's snapshot is
// what the sink held at the backup; since then the sink may have received
// changes that the source has undone (a title changed and changed back, a
// user suspended and reactivated: deleted from Neurons, then back), and a
// run comparing against the copy's snapshot would find nothing to send for
// those users. Resending every selected user makes the sink match the
// source again.
const ResendAfterRestore = "database restore"

// Restore puts a copy that Backup wrote (From) in place of the database at
// Path, keeping the database that was there beside it, and marks every
// connector of the copy to resend every selected user at its next run.
// The service must be stopped: it holds the database.
type Restore struct {
	Path string
	From string
	Key  KeyFunc // the data directory's key: the copy's secrets must open with it
	Now  time.Time
}

// RestoreReport is what a restore put in place.
type RestoreReport struct {
	CopyInfo
	// Servers are the connectors' server names, one per connector: a
	// daemon runs only its own server name's connectors on schedule.
	Servers []string
	// Kept is the name the database that was in place keeps
	// (<database>.before-restore-<time>); empty when there was none.
	Kept string
}

// ErrBadCopy marks the errors of a restore whose copy is at fault: not a
// database of this program, from a later version, damaged.
var ErrBadCopy = errors.New("not a copy that restores")

// badCopy is an error of the copy, which says so (errors.Is ErrBadCopy)
// without saying more than err.
type badCopy struct{ error }

func (e badCopy) Unwrap() []error { return []error{e.error, ErrBadCopy} }

// Run restores. Nothing changes unless it succeeds: the copy is prepared
// under a temporary name, and takes the database's name last.
func (r Restore) Run() (RestoreReport, error) {
	info, err := CheckCopy(r.From)
	if err != nil {
		return RestoreReport{}, badCopy{err}
	}
	if info.Schema > SchemaVersion {
		return RestoreReport{}, badCopy{fmt.Errorf("the copy %s has schema version %d, which a later version of neurons-connector wrote; this one reads up to %d: restore it with that version",
			r.From, info.Schema, SchemaVersion)}
	}
	if err := notInUse(r.Path); err != nil {
		return RestoreReport{}, err
	}
	tmp := r.Path + ".restore"
	// Whatever happens, nothing of the preparation stays: the temporary
	// copy (gone already once it took the database's name) and the
	// migration's copies of it (the copy restored from is the backup).
	removeWithBackups(tmp) // what an interrupted restore left
	defer removeWithBackups(tmp)
	servers, err := r.prepare(tmp)
	if err != nil {
		return RestoreReport{}, err
	}
	rep := RestoreReport{CopyInfo: info, Servers: servers}
	linked, moved := false, false
	err = errors.Join(private.Restrict(tmp, false), private.Inherit(tmp))
	if err == nil {
		if _, serr := os.Lstat(r.Path); serr == nil {
			rep.Kept = fmt.Sprintf("%s.before-restore-%s", r.Path, r.Now.UTC().Format("20060102T150405Z"))
			// As salvage does: a second name first, so that the
			// database's name never names nothing.
			if err = linkFile(r.Path, rep.Kept); err == nil {
				linked = true
			} else if err = renameFile(r.Path, rep.Kept); err == nil {
				moved = true
			}
		}
	}
	if err == nil {
		err = renameFile(tmp, r.Path)
	}
	if err != nil {
		// Nothing changed: the database keeps its name, and no second one.
		switch {
		case moved:
			err = errors.Join(err, renameFile(rep.Kept, r.Path))
		case linked:
			_ = os.Remove(rep.Kept)
		}
		return RestoreReport{}, fmt.Errorf("put the copy in place of %s: %w", r.Path, err)
	}
	syncDir(filepath.Dir(r.Path))
	return rep, nil
}

// linkFile and renameFile are os.Link and robustio.Rename, which tests make fail
// where no file system of a test's can: a file system without hard links
// (FAT, some network shares) and a final rename refused.
var linkFile, renameFile = os.Link, robustio.Rename

// notInUse fails when another process (the service) holds the database.
func notInUse(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // a new host: nothing to replace
	case errors.Is(err, berrors.ErrTimeout):
		return &InUseError{Path: path}
	case err != nil:
		return nil //nolint:nilerr // a damaged database is what a restore replaces
	}
	return db.Close()
}

// prepare copies the copy to tmp and readies it: brought to this
// version's schema, its secrets checked against the key, and every
// connector marked to resend. It returns the connectors' server names.
func (r Restore) prepare(tmp string) (servers []string, err error) {
	if err := copyNew(r.From, tmp); err != nil {
		return nil, fmt.Errorf("copy %s: %w", r.From, err)
	}
	// Brought to this version's schema first (Open migrates), then read
	// whole before it goes anywhere: CheckCopy read its header, and a
	// backup on a disk that lost a write is damaged further in.
	db, err := Open(tmp, Options{Key: r.Key})
	if err == nil {
		err = db.Close()
	}
	if err == nil {
		var check SalvageReport
		check, err = Salvage{Path: tmp}.Run()
		if err == nil && !check.Sound() {
			err = errors.New(strings.Join(check.Problems, "; "))
		}
	}
	if err != nil {
		return nil, badCopy{fmt.Errorf("the copy %s is damaged (%w): restore another copy, or put this one in place of the database by hand and run `database salvage`", r.From, err)}
	}
	if db, err = Open(tmp, Options{Key: r.Key}); err != nil {
		return nil, err
	}
	err = db.Update(func(tx *Tx) error {
		if err := tx.CheckKey(); err != nil {
			return fmt.Errorf("the copy's secrets: %w", err)
		}
		conns, err := tx.Connectors()
		if err != nil {
			return err
		}
		for _, c := range conns {
			servers = append(servers, c.Server)
			st, err := tx.SyncState(c.ID)
			if err != nil {
				return err
			}
			st.Resend = ResendAfterRestore
			if err := tx.PutSyncState(c.ID, st); err != nil {
				return err
			}
		}
		return nil
	})
	return servers, errors.Join(err, db.Close())
}

// removeWithBackups removes path and the copies a migration of it made
// (<path>.schema-v<N>.bak).
func removeWithBackups(path string) {
	_ = os.Remove(path)
	baks, _ := filepath.Glob(path + ".schema-v*.bak")
	for _, b := range baks {
		_ = os.Remove(b)
	}
}

// copyNew copies from to a new file to (mode 0600), synced.
func copyNew(from, to string) error {
	in, err := os.Open(from) //nolint:gosec // G304: the admin's own backup
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // G304: beside the database
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}
