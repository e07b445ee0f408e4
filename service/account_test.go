//go:build !windows

package service

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

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
