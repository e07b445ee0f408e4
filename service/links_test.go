//go:build !windows

package service

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"neurons-connector/fault"
	"neurons-connector/internal/private"
)

// A service taken over could plant, in its data directory, a second name
// for a file of root's (ln /etc/shadow /var/lib/neurons-connector/x, on a
// host where fs.protected_hardlinks is off); the next install, run by
// root, hands the data directory over and would give that file to the
// account. Install refuses a file with other names before it changes
// anything, and the hand-over itself never changes such a file's owner.
func TestAHardLinkedFileIsNotHandedOver(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("handing files over needs root") // CI runs as root
	}
	svc := Account{Name: "svc", UID: 4242, GID: 4242}
	system := filepath.Join(t.TempDir(), "shadow") // root's, outside the data directory
	if err := os.WriteFile(system, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "store.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(data, "x")
	if err := os.Link(system, planted); err != nil {
		t.Fatal(err)
	}

	err := checkLinks(data, svc)
	if err == nil || !errors.Is(err, fault.ErrBadInput) ||
		!strings.Contains(err.Error(), planted+" has 2 names (hard links)") || !strings.Contains(err.Error(), "nothing was changed") ||
		!strings.Contains(err.Error(), "find / -xdev -samefile "+planted) {
		t.Errorf("the check: %v", err)
	}
	if _, err := HandOver(data, svc); err == nil || !strings.Contains(err.Error(), planted+" has 2 names") {
		t.Errorf("the hand-over: %v", err)
	}
	if owner, _ := private.Owner(system); owner != 0 {
		t.Fatalf("the system file was given to %d", owner)
	}
	// The drop's folder, and a settings file given on its own.
	drop := t.TempDir()
	if err := os.Link(system, filepath.Join(drop, "Okta-users.csv")); err != nil {
		t.Fatal(err)
	}
	if _, err := handOverDrop(drop, svc); err == nil || !strings.Contains(err.Error(), "has 3 names") {
		t.Errorf("the drop's hand-over: %v", err)
	}
	if err := checkLinks(filepath.Join(drop, "Okta-users.csv"), svc); err == nil {
		t.Error("the check of one file passed")
	}
	if _, err := HandOver(filepath.Join(drop, "Okta-users.csv"), svc); err == nil {
		t.Error("one file with two names was handed over")
	}
	if owner, _ := private.Owner(system); owner != 0 {
		t.Fatalf("the system file was given to %d", owner)
	}

	// install's check, before anything is written: the data directory,
	// the settings file and the drop's own folder.
	env := filepath.Join(t.TempDir(), "nc.env")
	if err := os.WriteFile(env, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkHandOver(data, env, "", svc); err == nil || !strings.Contains(err.Error(), planted) {
		t.Errorf("install's check, a planted name in the data directory: %v", err)
	}
	if err := checkHandOver(t.TempDir(), env, drop, svc); err == nil || !strings.Contains(err.Error(), "Okta-users.csv has") {
		t.Errorf("install's check, a planted name in the drop: %v", err)
	}
	if err := checkHandOver(t.TempDir(), planted, "", svc); err == nil || !strings.Contains(err.Error(), planted+" has") {
		t.Errorf("install's check, a settings file with other names: %v", err)
	}
	// A symbolic link is left as it is, and so is what it names.
	link := filepath.Join(data, "link")
	if err := os.Symlink(system, link); err != nil {
		t.Fatal(err)
	}
	if _, err := HandOver(link, svc); err != nil {
		t.Errorf("a symbolic link: %v", err)
	}
	if info, err := os.Lstat(link); err != nil || info.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("the symbolic link was given away: %v", err)
	}
	if owner, _ := private.Owner(system); owner != 0 {
		t.Errorf("the file it names was given to %d", owner)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}

	// With the planted name gone the data directory is taken.
	if err := os.Remove(planted); err != nil {
		t.Fatal(err)
	}
	if err := checkLinks(data, svc); err != nil {
		t.Errorf("the check without the planted name: %v", err)
	}
	if _, err := HandOver(data, svc); err != nil {
		t.Errorf("the hand-over without the planted name: %v", err)
	}
	if owner, _ := private.Owner(filepath.Join(data, "store.db")); owner != svc.UID {
		t.Errorf("store.db belongs to %d", owner)
	}
	// A file the account owns already is not changed, so it may have any
	// number of names.
	if err := os.Link(filepath.Join(data, "store.db"), filepath.Join(t.TempDir(), "backup.db")); err != nil {
		t.Fatal(err)
	}
	if err := checkLinks(data, svc); err != nil {
		t.Errorf("the check of the account's own file with two names: %v", err)
	}
	if changed, err := HandOver(data, svc); changed || err != nil {
		t.Errorf("the account's own file with two names: %v, %v", changed, err)
	}
}
