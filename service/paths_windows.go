//go:build windows

package service

import (
	"errors"
	"os"
	"path/filepath"
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

// PrepareDataDir creates dir. On Windows access is governed by the ACL that
// %ProgramData% passes down; the service installer narrows it.
func PrepareDataDir(dir string) error { return os.MkdirAll(dir, 0o700) }
