//go:build !windows

package service

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultEnvFile is where `service install` puts the service's settings.
func DefaultEnvFile(func(string) string) string {
	return filepath.Join("/etc", Name, Name+".env")
}

// restrictFile leaves a file to its owner alone.
func restrictFile(path string) error { return os.Chmod(path, 0o600) }

// checkPrivate refuses a file that group or others may read or write.
func checkPrivate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("settings file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("settings file %s is readable by other accounts (mode %v); it may hold secrets: chmod 600 %s",
			path, info.Mode().Perm(), path)
	}
	return nil
}
