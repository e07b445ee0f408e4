package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"neurons-connector/fault"
	"neurons-connector/internal/diskfull"
)

// SpaceError is a commit the disk refused: no space left, a quota used up,
// a file size limit reached. bbolt rolls the transaction back, so what was
// committed before stays and the file stays sound; once space is freed the
// same process writes again, and the next run goes on from the last commit
// (TestAFullDiskIsNamedAndOutlived).
type SpaceError struct {
	What string // what was written: "database" when empty
	Path string // the file
	Why  string // what refused the write, and the fix
	Err  error
}

func (e *SpaceError) Error() string {
	what := e.What
	if what == "" {
		what = "database"
	}
	return fmt.Sprintf("%s %s: %s, then run again; nothing committed before is lost, and the next run goes on from there (%v)",
		what, e.Path, e.Why, e.Err)
}

// Space returns err as a SpaceError for the file at path (what names it)
// when the disk, or a limit on it, refused the write, and err otherwise.
// A run's own files beside the database (a report waiting for its manager
// goes to a spill file) fill a disk as the database does.
func Space(what, path string, err error) error {
	if why, ok := diskfull.Describe(err, filepath.Dir(path)); ok {
		return &SpaceError{What: what, Path: path, Why: why, Err: err}
	}
	return err
}

// Unwrap keeps the cause, and classes the error as transient: it passes
// once space is freed, and the service tries again.
func (e *SpaceError) Unwrap() []error { return []error{e.Err, fault.ErrTransient} }

// space returns err as a SpaceError when the disk refused the write, and
// as the system's refusal when it would not map the grown file (bbolt
// remaps the whole file as it grows, and words the refusal "mmap allocate
// error: cannot allocate memory").
func (d *DB) space(err error) error {
	var se *SpaceError
	if errors.As(err, &se) {
		return err
	}
	if why, ok := diskfull.Describe(err, filepath.Dir(d.path)); ok {
		return &SpaceError{Path: d.path, Why: why, Err: err}
	}
	if errors.Is(err, syscall.ENOMEM) || strings.Contains(err.Error(), syscall.ENOMEM.Error()) {
		return mapRefused("database", d.path, err)
	}
	return err
}

// mapRefused is the system refusing to map the database file: a limit on
// the process's address space below the file's size. An admin must lift
// it; the file is sound.
func mapRefused(what, path string, err error) error {
	size := int64(0)
	if fi, serr := os.Stat(path); serr == nil { //nolint:gosec // G703: the admin's own data directory
		size = fi.Size()
	}
	return fault.Mark(fmt.Errorf("%s %s: the system will not map its %d MB into the process (%w): a limit on the "+
		"process's address space is lower (ulimit -v, or LimitAS= in the service's unit); lift that limit", what, path, size>>20, err),
		fault.ErrConfig)
}
