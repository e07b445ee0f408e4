//go:build !windows

package service

import (
	"errors"
	"os"
	"path/filepath"

	"neurons-connector/internal/owndir"
	"neurons-connector/internal/private"
)

// DefaultDataDir is /var/lib/neurons-connector for root (the service), and
// $XDG_STATE_HOME/neurons-connector (~/.local/state/...) for anyone else, so
// an admin trying the CLI as themselves needs no root and leaves no trace in
// system folders.
func DefaultDataDir(getenv func(string) string, uid int) (string, error) {
	if uid == 0 || uid == private.ServiceUID() {
		return DefaultDataDirUnix, nil // root's commands and the service share it
	}
	if state := getenv("XDG_STATE_HOME"); filepath.IsAbs(state) {
		return filepath.Join(state, Name), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither XDG_STATE_HOME nor HOME is set; set NC_DATA_DIR or pass --data-dir")
	}
	return filepath.Join(home, ".local", "state", Name), nil
}

// CurrentUID is the effective user ID, the input DefaultDataDir expects.
func CurrentUID() int { return os.Geteuid() }

// PrepareDataDir creates dir with mode 0700; an existing one must belong to
// this account, root or the service's account and be writable by its owner
// only (package private), and is narrowed to 0700: it holds the key that
// opens every secret.
func PrepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return owndir.AdoptData(dir)
}

// TeeToSystemLog says whether warnings and errors are copied to the service
// manager's log: systemd puts the daemon's stderr in the journal already; a copy through syslog would show every warning twice.
const TeeToSystemLog = false
