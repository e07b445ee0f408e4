//go:build windows

package private

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"neurons-connector/fault"
)

// Restrict leaves a folder and a key to SYSTEM, Administrators, the service
// and this account, which Check accepts; an entry that lets Everyone read
// the key is refused with the icacls fix, and is fine for an input file.
func TestRestrictThenCheck(t *testing.T) {
	dir := t.TempDir()
	if err := Adopt(dir, Dir); err != nil {
		t.Fatalf("adopt the folder: %v", err)
	}
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(key, false); err != nil {
		t.Fatal(err)
	}
	if err := Check(key, Secret); err != nil {
		t.Fatalf("restricted key: %v", err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;SY)(A;;FR;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(key, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	if err := Check(key, Secret); !errors.Is(err, fault.ErrBadInput) || !strings.Contains(err.Error(), "icacls") {
		t.Errorf("a key Everyone may read: %v", err)
	}
	if err := Check(key, Input); err != nil {
		t.Errorf("an input file Everyone may only read: %v", err)
	}
}
