//go:build windows

package service

import (
	"errors"
	"os"
	"path/filepath"

	"neurons-connector/internal/owndir"
)

// DefaultDataDir is %ProgramData%\neurons-connector for every account: the
// service runs as LocalSystem, whose %LocalAppData% differs from an admin's,
// and both must see the same database.
func DefaultDataDir(getenv func(string) string, _ int) (string, error) {
	pd := getenv("ProgramData")
	if pd == "" {
		return "", errors.New("%ProgramData% is not set; set NC_DATA_DIR or pass --data-dir")
	}
	return filepath.Join(pd, Name), nil
}

// CurrentUID has no meaning on Windows; DefaultDataDir ignores it.
func CurrentUID() int { return -1 }

// PrepareDataDir creates dir and replaces the ACL that %ProgramData% would
// pass down (every user may read, and add files) with one for SYSTEM,
// Administrators, the service's account and this account, inheriting
// nothing; an existing folder must belong to one of them and is narrowed
// the same way, then checked (package private): the folder holds the key
// that opens every secret.
func PrepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return owndir.AdoptData(dir)
}

// TeeToSystemLog says whether warnings and errors are copied to the service
// manager's log: a service's stderr goes nowhere on Windows; warnings and errors must reach the event log.
const TeeToSystemLog = true
