package store

import (
	"errors"
	"fmt"
	"path/filepath"

	"neurons-connector/fault"
	"neurons-connector/internal/diskfull"
)

// SpaceError is a commit the disk refused: no space left, a quota used up,
// a file size limit reached. bbolt rolls the transaction back, so what was
// committed before stays and the file stays sound; once space is freed the
// same process writes again, and the next run goes on from the last commit
// (TestAFullDiskIsNamedAndOutlived).
type SpaceError struct {
	Path string // the database file
	Why  string // what refused the write, and the fix
	Err  error
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("database %s: %s, then run again; nothing committed before is lost, and the next run goes on from there (%v)",
		e.Path, e.Why, e.Err)
}

// Unwrap keeps the cause, and classes the error as transient: it passes
// once space is freed, and the service tries again.
func (e *SpaceError) Unwrap() []error { return []error{e.Err, fault.ErrTransient} }

// space returns err as a SpaceError when the disk refused the write.
func (d *DB) space(err error) error {
	var se *SpaceError
	if errors.As(err, &se) {
		return err
	}
	if why, ok := diskfull.Describe(err, filepath.Dir(d.path)); ok {
		return &SpaceError{Path: d.path, Why: why, Err: err}
	}
	return err
}
