package netfs

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

func of(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	root := filepath.VolumeName(abs)
	if strings.HasPrefix(root, `\\`) && !strings.HasPrefix(root, `\\?\`) && !strings.HasPrefix(root, `\\.\`) {
		return "a network share (" + root + ")", true // \\server\share
	}
	p, err := windows.UTF16PtrFromString(root + `\`)
	if err != nil {
		return "", false
	}
	if windows.GetDriveType(p) == windows.DRIVE_REMOTE {
		return "a network drive (" + root + ")", true
	}
	return "", false
}
