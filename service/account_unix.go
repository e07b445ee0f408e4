//go:build !windows

package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"neurons-connector/internal/private"
)

// Account is the system account the Linux service runs as.
type Account struct {
	Name     string
	UID, GID int
}

// RunCommand runs an administration command (useradd), its output joined
// to the error; a variable for tests.
var RunCommand = func(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput() //nolint:gosec // G204: fixed programs with fixed arguments
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// nologin is the shell of the service's account: no one logs in as it.
func nologin() string {
	for _, p := range []string{"/usr/sbin/nologin", "/sbin/nologin"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/bin/false"
}

// EnsureAccount returns the service's system account, creating it (a
// system user and group, no home, no login shell) if the host has none.
func EnsureAccount(home string) (Account, error) {
	if a, err := lookupAccount(); err == nil {
		return a, nil
	}
	err := RunCommand("useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home",
		"--shell", nologin(), "--comment", "Ivanti Neurons connector", private.ServiceAccount)
	if err != nil {
		return Account{}, fmt.Errorf("create the service account %s: %w; create a system user of that name "+
			"(e.g. useradd --system --user-group %s) and install again", private.ServiceAccount, err, private.ServiceAccount)
	}
	return lookupAccount()
}

func lookupAccount() (Account, error) {
	u, err := user.Lookup(private.ServiceAccount)
	if err != nil {
		return Account{}, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return Account{}, fmt.Errorf("account %s: %w", u.Username, err)
	}
	return Account{Name: u.Username, UID: uid, GID: gid}, nil
}

// HandOver gives path, and everything under it, to a; it reports whether
// anything belonged to someone else (a data directory of a version that
// ran as root). The walk stays inside path (os.Root) and changes folders
// and regular files only, each through a descriptor; a file with other
// names is refused (links_unix.go).
func HandOver(path string, a Account) (bool, error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !info.IsDir() {
		root, err := os.OpenRoot(filepath.Dir(path))
		if err != nil {
			return false, err
		}
		defer func() { _ = root.Close() }()
		return handOne(root, filepath.Base(path), path, a)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return false, err
	}
	defer func() { _ = root.Close() }()
	changed := false
	err = fs.WalkDir(root.FS(), ".", func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		did, err := handOne(root, p, filepath.Join(path, p), a)
		changed = changed || did
		return err
	})
	return changed, err
}

func ownedBy(info fs.FileInfo, a Account) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == a.UID
}
