//go:build windows

package private

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Access rights that let another account change a file, or read it.
const (
	writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.FILE_WRITE_EA | windows.FILE_WRITE_ATTRIBUTES |
		windows.WRITE_DAC | windows.WRITE_OWNER | windows.DELETE | windows.GENERIC_WRITE | windows.GENERIC_ALL
	readRights = windows.FILE_READ_DATA | windows.FILE_READ_EA | windows.GENERIC_READ | windows.GENERIC_ALL
)

// ServiceSID is the SID of NT SERVICE\<ServiceAccount>, the virtual
// account the service runs as (see serviceSID).
func ServiceSID() string { return serviceSID(ServiceAccount) }

// trusted are the SIDs that may own and use the files: SYSTEM,
// Administrators, the service's account and this account.
var trusted = sync.OnceValues(func() ([]*windows.SID, error) {
	var out []*windows.SID
	for _, s := range []string{"S-1-5-18", "S-1-5-32-544", ServiceSID()} {
		sid, err := windows.StringToSid(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sid)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	me, err := u.User.Sid.Copy()
	if err != nil {
		return nil, err
	}
	return append(out, me), nil
})

func isTrusted(sid *windows.SID) (bool, error) {
	all, err := trusted()
	if err != nil {
		return false, err
	}
	for _, t := range all {
		if t.Equals(sid) {
			return true, nil
		}
	}
	return false, nil
}

// Check returns nil when path is private enough for kind: owned by a
// trusted account (SYSTEM, Administrators, the service's account or this
// one) and no access-allowed entry of its ACL lets another account write
// it (or, for a secret, read it). Otherwise the error (class
// fault.ErrBadInput) names path and the icacls command that fixes it.
func Check(path string, kind Kind) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the access rules of %s: %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", path, err)
	}
	if ok, err := isTrusted(owner); err != nil {
		return err
	} else if !ok {
		return refuse("%s belongs to %s, not to SYSTEM, Administrators, the service or this account: another account may have put it there; "+
			"check it, then run: icacls %q /setowner *S-1-5-32-544 /T", path, owner, path)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return refuse("%s has no access rules, so every account may use it; run: %s", path, fix(path, kind))
	}
	deny := uint32(writeRights)
	if kind == Secret {
		deny |= readRights
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("read the access rules of %s: %w", path, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || uint32(ace.Mask)&deny == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)) //nolint:gosec // G103: the SID follows the header in the ACE, as Windows lays it out
		if ok, err := isTrusted(sid); err != nil {
			return err
		} else if !ok {
			what := "change"
			if kind == Secret {
				what = "read or change"
			}
			return refuse("%s lets %s %s it; run: %s", path, sid, what, fix(path, kind))
		}
	}
	return nil
}

// Adopt makes a folder or file the program keeps private, once its owner
// is trusted: a folder created by an older version, or by hand, inherits
// %ProgramData%'s rules (every user may read, and add files); its rules
// are replaced, then checked.
func Adopt(path string, kind Kind) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", path, err)
	}
	if ok, err := isTrusted(owner); err == nil && ok {
		if err := Restrict(path, kind == Dir); err != nil {
			return err
		}
	}
	return Check(path, kind)
}

func fix(path string, kind Kind) string {
	inherit := ""
	if kind == Dir {
		inherit = "(OI)(CI)"
	}
	return fmt.Sprintf("icacls %q /inheritance:r /grant:r *S-1-5-18:%sF *S-1-5-32-544:%sF *%s:%sF", path, inherit, inherit, ServiceSID(), inherit)
}

// Restrict replaces path's ACL with one for SYSTEM, Administrators, the
// service's account and this account, inheriting nothing (%ProgramData%
// lets every user read).
func Restrict(path string, isDir bool) error {
	all, err := trusted()
	if err != nil {
		return err
	}
	inherit := ""
	if isDir {
		inherit = "OICI"
	}
	var sddl strings.Builder
	sddl.WriteString("D:P")
	for _, sid := range all {
		fmt.Fprintf(&sddl, "(A;%s;FA;;;%s)", inherit, sid)
	}
	sd, err := windows.SecurityDescriptorFromString(sddl.String())
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

// OpenOwn is os.OpenFile on Windows, where a file's ACL, not a link
// planted in a folder, decides what the program may change.
func OpenOwn(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm) //nolint:gosec // G304: a file of the program's own
}

// WritableFor says nothing on Windows, where the service's settings file
// and data folder keep the ACL install gave them.
func WritableFor(string, string) error { return nil }

// Inherit does nothing on Windows: a file created in a folder Restrict
// prepared inherits the folder's access rules.
func Inherit(string) error { return nil }

// ReadFix says how to let this account, and the service's, read the
// private file path it was refused: the rules install gives its own files.
func ReadFix(path string) string {
	return "this account may not read it; give it the rules of the service's files: " + fix(path, Secret)
}
