package mapping

import (
	"fmt"
	"io"
	"io/fs"
	"unicode/utf8"
)

// Limits on what an admin's table may be. A real table has a few dozen
// rows of short names; the limits leave a hundredfold room and keep a
// wrong file (a log, an export, a disk image) from costing gigabytes of
// memory or of messages.
const (
	MaxTableSize = 1 << 20 // bytes
	MaxRows      = 5000
	shownCell    = 40 // characters of a cell a message quotes
)

// ReadTable reads the table name in fsys: a regular file (not a device,
// a pipe or a directory) of at most MaxTableSize bytes.
func ReadTable(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a file; a mapping table is a CSV file", name, fileKind(info.Mode()))
	}
	if info.Size() > MaxTableSize {
		return nil, tooLarge(name)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxTableSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxTableSize {
		return nil, tooLarge(name) // it grew while being read
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "special"
}

func tooLarge(name string) error {
	return fmt.Errorf("%s is larger than %d MiB; a mapping table has a few dozen rows (export one with: neurons-connector mapping export TYPE)",
		name, MaxTableSize>>20)
}

// tooManyRows is reported once, before the other problems.
var tooManyRows = fmt.Sprintf("the table has more than %d rows; a mapping table needs one row per target", MaxRows)

// short quotes at most shownCell characters of s, for messages.
func short(s string) string {
	if utf8.RuneCountInString(s) <= shownCell {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q… (%d characters)", string(r[:shownCell]), len(r))
}
