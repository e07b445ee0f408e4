//go:build !windows

package service

import (
	"path/filepath"
)

// DefaultEnvFile is where `service install` puts the service's settings.
func DefaultEnvFile(func(string) string) string {
	return filepath.Join("/etc", Name, Name+".env")
}
