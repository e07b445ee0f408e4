//go:build !windows

package owndir_test

import (
	"os"
	"testing"

	"neurons-connector/internal/owndir"
)

// A data directory private already loses nothing to the narrowing: one
// that holds a file an admin put there (a backup copied in before a
// restore) is taken. Install checks it anyway (service.CheckInstall). On
// Windows, whose modes say nothing of ACLs, every data directory is checked.
func TestAPrivateDataDirectoryIsTaken(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fill(t, dir, "backup-2026-12-01.db")
	if err := owndir.AdoptData(dir); err != nil {
		t.Errorf("a private folder with a backup in it: %v", err)
	}
	if err := owndir.CheckData(dir); err == nil {
		t.Error("CheckData, install's check, took it")
	}
}
