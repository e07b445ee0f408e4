//go:build !windows

package service

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/fault"
	"neurons-connector/internal/private"
)

// install creates a system account with no home and no login shell, and
// says how to create it by hand when it cannot.
func TestEnsureAccountCreatesASystemUser(t *testing.T) {
	if _, err := user.Lookup(private.ServiceAccount); err == nil {
		t.Logf("this host has a %s account; EnsureAccount returns it", private.ServiceAccount)
		if a, err := EnsureAccount(DefaultDataDirUnix); err != nil || a.Name != private.ServiceAccount {
			t.Errorf("%+v, %v", a, err)
		}
		return
	}
	var ran []string
	saved := RunCommand
	defer func() { RunCommand = saved }()
	RunCommand = func(name string, args ...string) error {
		ran = append([]string{name}, args...)
		return errors.New("useradd: permission denied")
	}
	_, err := EnsureAccount(DefaultDataDirUnix)
	got := strings.Join(ran, " ")
	for _, want := range []string{"useradd --system --user-group --home-dir /var/lib/neurons-connector --no-create-home --shell ", " neurons-connector"} {
		if !strings.Contains(got, want) {
			t.Errorf("ran %q, want %q", got, want)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "useradd --system --user-group neurons-connector") {
		t.Errorf("error %v", err)
	}
}

// Upgrading from a root install hands the data directory over, every file
// in it, and says whether anything changed.
func TestHandOverGivesEveryFileToTheAccount(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "csv"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"store.db", "secret.key", "csv/Okta-users.csv"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := Account{Name: "me", UID: os.Geteuid(), GID: os.Getegid()}
	if a.UID == 0 {
		a = Account{Name: "svc", UID: 4242, GID: 4242}
	}
	changed, err := HandOver(dir, a)
	if err != nil || changed != (os.Geteuid() == 0) {
		t.Fatalf("changed %v, %v", changed, err)
	}
	_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error {
		if owner, _ := private.Owner(p); owner != a.UID {
			t.Errorf("%s belongs to %d", p, owner)
		}
		return nil
	})
	if changed, err := HandOver(dir, a); changed || err != nil {
		t.Errorf("a second hand-over changed %v, %v", changed, err)
	}
}

// NC_CSV_DIR may name a folder that holds more than the drop (a share
// another program collects from). Install gave it, and everything in it,
// to the service's account; now only a folder of the drop's own, and the
// drop's files in it, are handed over, and one that is someone else's is
// refused unless the account may write there already.
func TestInstallTakesOnlyTheDropsOwnFolderAndFiles(t *testing.T) {
	a := Account{Name: "me", UID: os.Geteuid(), GID: os.Getegid()}
	if a.UID == 0 {
		a = Account{Name: "svc", UID: 4242, GID: 4242}
	}
	stranger := Account{Name: "svc", UID: os.Geteuid() + 4242, GID: os.Getegid() + 4242}

	own := t.TempDir()
	for _, f := range []string{"Okta prod-users.csv", ".c_1-users.csv.99"} {
		if err := os.WriteFile(filepath.Join(own, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkDrop(own, stranger); err != nil {
		t.Errorf("a folder of the drop's own: %v", err)
	}
	changed, err := handOverDrop(own, a)
	if err != nil || changed != (os.Geteuid() == 0) {
		t.Fatalf("handOverDrop: changed %v, %v", changed, err)
	}
	for _, f := range []string{".", "Okta prod-users.csv", ".c_1-users.csv.99"} {
		if owner, _ := private.Owner(filepath.Join(own, f)); owner != a.UID {
			t.Errorf("%s belongs to %d", f, owner)
		}
	}

	shared := t.TempDir()
	if err := os.MkdirAll(filepath.Join(shared, "hr"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "hr", "payroll.xlsx"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	err = checkDrop(shared, stranger)
	if err == nil || !strings.Contains(err.Error(), "NC_CSV_DIR "+shared+" holds hr, which is not the CSV drop's") ||
		!strings.Contains(err.Error(), "sudo chgrp svc "+shared) || !errors.Is(err, fault.ErrBadInput) {
		t.Errorf("someone else's folder: %v", err)
	}
	// Before install has made the account, there is no group to give yet.
	err = checkDrop(shared, Account{Name: "svc", UID: -1, GID: -1})
	if err == nil || !strings.Contains(err.Error(), "install without NC_CSV_DIR, let the account write there (sudo chgrp svc "+shared) {
		t.Errorf("someone else's folder, no account yet: %v", err)
	}
	// The account's group may write there: taken, and left as it is.
	if err := os.Chmod(shared, 0o775); err != nil {
		t.Fatal(err)
	}
	if err := checkDrop(shared, Account{Name: "svc", UID: stranger.UID, GID: os.Getegid()}); err != nil {
		t.Errorf("a folder the account's group may write: %v", err)
	}
	if changed, err := handOverDrop(shared, stranger); changed || err != nil {
		t.Errorf("someone else's folder was handed over: %v %v", changed, err)
	}
}

// Install gives the settings file to the service's account: named among
// other software's files, it is refused before anything is changed; in a
// folder of its own, the default folder or the data directory it is taken.
func TestASettingsFileAmongOthersIsRefused(t *testing.T) {
	svc := Account{Name: "svc", UID: -1, GID: -1}
	shared := t.TempDir()
	file := filepath.Join(shared, "neurons-connector.sh")
	for _, f := range []string{file, filepath.Join(shared, "00-site.sh")} {
		if err := os.WriteFile(f, []byte("export NC_LOG_LEVEL=info\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err := checkSettingsFolder(file, "/var/lib/neurons-connector", svc)
	if err == nil || !errors.Is(err, fault.ErrBadInput) ||
		!strings.Contains(err.Error(), "the settings file "+file+" is in "+shared+" beside 00-site.sh, which is not neurons-connector's") ||
		!strings.Contains(err.Error(), "move the file to "+DefaultEnvFile(nil)) {
		t.Errorf("a settings file among others: %v", err)
	}
	if err := checkSettingsFolder(file, shared, svc); err != nil {
		t.Errorf("a settings file in the data directory: %v", err)
	}
	if err := os.Remove(filepath.Join(shared, "00-site.sh")); err != nil {
		t.Fatal(err)
	}
	if err := checkSettingsFolder(file, "/var/lib/neurons-connector", svc); err != nil {
		t.Errorf("a settings file in a folder of its own: %v", err)
	}
	if err := checkSettingsFolder(filepath.Join(t.TempDir(), "new", "nc.env"), "/var/lib/neurons-connector", svc); err != nil {
		t.Errorf("a settings file in a folder install makes: %v", err)
	}
	// The default folder is the program's, whatever else it holds.
	if err := checkSettingsFolder(DefaultEnvFile(nil), "/var/lib/neurons-connector", svc); err != nil {
		t.Errorf("the default settings file: %v", err)
	}
}
