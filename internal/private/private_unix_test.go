//go:build !windows

package private

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// Root runs commands beside the service (sudo neurons-connector status),
// in a data directory the service's account owns and so may fill with
// names of its choosing. A service taken over could put there, under the
// name of a file root is about to narrow or give to it, a symbolic link
// to a system file (followed by chmod) or, where fs.protected_hardlinks
// is off, a second name for one (changed by chown): root's next command
// would narrow /etc/passwd, or give /etc/shadow to the account. Restrict
// and Inherit change only the name's own file, and refuse a file with
// other names.
func TestRootChangesNoFileThroughANamePlantedBesideIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as CI runs") // only root changes another account's folder
	}
	system := filepath.Join(t.TempDir(), "passwd") // root's, outside the data directory
	if err := os.WriteFile(system, []byte("root:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := os.Chown(data, 4242, 4242); err != nil { // the service's account's
		t.Fatal(err)
	}
	mode := func() os.FileMode {
		info, err := os.Stat(system)
		if err != nil {
			t.Fatal(err)
		}
		return info.Mode().Perm()
	}

	link := filepath.Join(data, "store.db")
	if err := os.Symlink(system, link); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(link, false); err == nil || !strings.Contains(err.Error(), link+" is a symbolic link") {
		t.Errorf("Restrict through a symbolic link: %v", err)
	}
	if err := Inherit(link); err == nil {
		t.Error("Inherit through a symbolic link passed")
	}
	if mode() != 0o644 {
		t.Errorf("the system file was narrowed to %v", mode())
	}

	hard := filepath.Join(data, "secret.key")
	if err := os.Link(system, hard); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(hard, false); err == nil || !strings.Contains(err.Error(), hard+" has 2 names (hard links)") {
		t.Errorf("Restrict of a second name: %v", err)
	}
	if err := Inherit(hard); err == nil || !strings.Contains(err.Error(), hard+" has 2 names (hard links)") {
		t.Errorf("Inherit of a second name: %v", err)
	}
	if owner, _ := Owner(system); owner != 0 || mode() != 0o644 {
		t.Errorf("the system file is now uid %d's, mode %v", owner, mode())
	}

	// In a folder no other account may change, a link is the admin's own
	// (a drop folder on another disk) and is followed.
	mine := filepath.Join(t.TempDir(), "linked.db")
	if err := os.Symlink(own0(t), mine); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(mine, false); err != nil {
		t.Errorf("a link in root's folder: %v", err)
	}
	if info, err := os.Stat(mine); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the file behind root's link: %v, %v", info.Mode(), err)
	}

	// A file of its own is narrowed and given over as before.
	own := filepath.Join(data, "own.db")
	if err := os.WriteFile(own, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(Restrict(own, false), Inherit(own)); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(own); err != nil || info.Mode().Perm() != 0o600 || info.Sys().(*syscall.Stat_t).Uid != 4242 {
		t.Errorf("a file of its own: %v, %v", info.Mode(), err)
	}
}

// own0 is a new file of mode 0644 in a folder of root's.
func own0(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Root beside the service writes only where the service's account could:
// a setting from a file that account may change (a settings file kept in
// the data directory) must not make root write the CSV drop, whose rows
// that account wrote, into /etc/logrotate.d.
func TestRootWritesOnlyWhereTheServiceCould(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as CI runs")
	}
	state := filepath.Join(t.TempDir(), "csvstate")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, 4242, 4343); err != nil { // the service's account's
		t.Fatal(err)
	}
	system := t.TempDir() // root's, 0700
	err := WritableFor(filepath.Join(system, "logrotate.d"), state)
	if err == nil || !strings.Contains(err.Error(), system+" is a folder uid 4242, which owns the data directory, may not write") ||
		!strings.Contains(err.Error(), "chown 4242 "+system) {
		t.Errorf("a folder of root's: %v", err)
	}
	for _, c := range []struct {
		uid, gid int
		mode     os.FileMode
	}{{4242, 0, 0o700}, {0, 4343, 0o770}, {0, 0, 0o777}} {
		dir := t.TempDir()
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, c.mode); err != nil {
			t.Fatal(err)
		}
		if err := WritableFor(filepath.Join(dir, "drop"), state); err != nil {
			t.Errorf("a folder the account may write (%d:%d %v): %v", c.uid, c.gid, c.mode, err)
		}
	}
	// Beside a data directory of root's, root writes where it is told.
	if err := os.Chown(state, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := WritableFor(system, state); err != nil {
		t.Errorf("beside root's own data directory: %v", err)
	}
}
