package store

import (
	"fmt"
	"io"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the database to w from one read
// transaction, while other transactions go on writing (what they commit
// meanwhile is not in the copy). It returns the bytes written. A copy of
// the file taken with cp or a backup agent while the service writes can be
// torn, a page from before a commit beside one from after it; this is how
// a running service is backed up (database backup).
func (d *DB) Backup(w io.Writer) (n int64, err error) {
	err = d.guard(func() error {
		return d.bolt.View(func(tx *bolt.Tx) error {
			n, err = tx.WriteTo(w)
			return err
		})
	})
	return n, err
}

// CopyInfo is what a copy of the database holds, read back from it.
type CopyInfo struct {
	Schema     uint32
	Connectors int
}

// CheckCopy opens a copy that Backup wrote, read-only, and reads its
// schema version and connectors: a copy that does not open, or that is not
// this program's database, is an error, so that a backup is known good
// when it is written rather than when it is needed. bbolt panics on some
// damaged pages (a copy to restore may be damaged): that is an error too.
func CheckCopy(path string) (info CopyInfo, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)) // a page past the end of the file
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the copy %s is damaged (%s)", path, oneLine(fmt.Sprint(p)))
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return CopyInfo{}, fmt.Errorf("the copy %s does not open as a database: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	err = db.View(func(tx *bolt.Tx) error {
		v, empty, err := readVersion(tx)
		if err != nil {
			return err
		}
		if empty {
			return fmt.Errorf("the copy %s holds no schema version: it is not a neurons-connector database", path)
		}
		info.Schema = v
		if b := tx.Bucket(bucketConnectors); b != nil {
			info.Connectors = b.Stats().KeyN
		}
		return nil
	})
	return info, err
}
