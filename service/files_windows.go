//go:build windows

package service

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// DefaultEnvFile is where `service install` puts the service's settings.
func DefaultEnvFile(getenv func(string) string) string {
	return filepath.Join(getenv("ProgramData"), Name, Name+".env")
}

// privateSDDL grants full control to LocalSystem (the service) and the
// Administrators group only, and blocks what %ProgramData% passes down
// (which lets every user read).
const privateSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// restrictFile replaces the file's or folder's ACL with privateSDDL.
func restrictFile(path string) error {
	sd, err := windows.SecurityDescriptorFromString(privateSDDL)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("restrict access to %s: %w", path, err)
	}
	return nil
}

// checkPrivate trusts the ACL restrictFile set; Windows has no mode bits to
// read it from cheaply.
func checkPrivate(string) error { return nil }
