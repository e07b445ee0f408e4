//go:build !windows

package private

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/fault"
)

// A directory or file of another account is refused with the fix, as are
// modes that let others write, or read a secret; the account's own private
// files pass.
func TestCheckRefusesWhatOthersControl(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir, Dir); err != nil {
		t.Fatalf("own private folder: %v", err)
	}
	if err := Check(key, Secret); err != nil {
		t.Fatalf("own private key: %v", err)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
		kind Kind
		want string
	}{
		{key, 0o640, Secret, "chmod 600 " + key},
		{key, 0o622, Input, "chmod go-w " + key},
		{dir, 0o777, Dir, "chmod 700 " + dir},
	} {
		if err := os.Chmod(tc.path, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := Check(tc.path, tc.kind)
		if !errors.Is(err, fault.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mode %04o: %v, want %q", tc.mode, err, tc.want)
		}
		_ = os.Chmod(tc.path, map[bool]os.FileMode{true: 0o700, false: 0o600}[tc.kind == Dir])
	}

	// Seen by another (unprivileged) account, the same folder belongs to
	// someone else: planted, as far as that account can tell.
	me := os.Geteuid()
	euid = func() int { return me + 1000 }
	defer func() { euid = os.Geteuid }()
	if me == 0 {
		// Root's files are trusted by everyone: pretend instead that we
		// are root and the folder another account's.
		euid = os.Geteuid
		if err := os.Chown(dir, 4242, 4242); err != nil {
			t.Fatal(err)
		}
	}
	err := Check(dir, Dir)
	if !errors.Is(err, fault.ErrBadInput) || !strings.Contains(err.Error(), "belongs to") || !strings.Contains(err.Error(), "chown -R") {
		t.Errorf("a folder of another account: %v", err)
	}
}

// A file root creates in a folder of the service's account goes to that
// account; anyone else's files stay theirs.
func TestInheritGivesRootsFilesToTheFolderOwner(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "store.db")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := os.Geteuid()
	if want == 0 {
		want = 4242
		if err := os.Chown(dir, want, want); err != nil {
			t.Fatal(err)
		}
	}
	if err := Inherit(f); err != nil {
		t.Fatal(err)
	}
	if got, err := Owner(f); err != nil || got != want {
		t.Errorf("owner %d, want %d (%v)", got, want, err)
	}
}
