//go:build windows

package service

import (
	"path/filepath"
)

// DefaultEnvFile is where `service install` puts the service's settings.
func DefaultEnvFile(getenv func(string) string) string {
	return filepath.Join(getenv("ProgramData"), Name, Name+".env")
}
