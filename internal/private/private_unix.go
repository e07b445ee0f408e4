//go:build !windows

package private

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// euid is the effective user; a variable so that tests can pretend to be
// someone else.
var euid = os.Geteuid

// serviceUID is the uid of ServiceAccount, -1 if the system has none.
var serviceUID = sync.OnceValue(func() int {
	u, err := user.Lookup(ServiceAccount)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(u.Uid)
	if err != nil {
		return -1
	}
	return n
})

// Check returns nil when path is private enough for kind (see Kind);
// otherwise an error of class fault.ErrBadInput naming path and the fix.
func Check(path string, kind Kind) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot read the owner of %s", path)
	}
	if owner := int(st.Uid); !OwnerTrusted(owner) {
		return refuse("%s belongs to %s, not to this account (%s) or root: another account may have put it there; "+
			"check it, then give it to this account (chown -R %s %s) or run as its owner", path, name(owner), name(euid()), chownName(euid()), path)
	}
	perm := info.Mode().Perm()
	switch {
	case kind == Secret && perm&0o077 != 0:
		return refuse("%s may be read by other accounts (mode %04o) and holds secrets; run: chmod 600 %s", path, perm, path)
	case perm&0o022 != 0:
		fix := "chmod go-w " + path
		if kind == Dir {
			fix = "chmod 700 " + path
		}
		return refuse("%s may be changed by other accounts (mode %04o); run: %s", path, perm, fix)
	}
	return nil
}

// OwnerTrusted says whether files of uid may be trusted: this account's,
// root's, or, for root, the service account's (whose files root uses when
// an admin runs a command beside the service).
func OwnerTrusted(uid int) bool {
	me := euid()
	return uid == me || uid == 0 || (me == 0 && uid == serviceUID())
}

// Owner is path's uid.
func Owner(path string) (int, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("cannot read the owner of %s", path)
	}
	return int(st.Uid), nil
}

// Adopt checks a folder or file the program keeps (the data directory),
// then narrows it to its owner (a folder an older version left 0755).
func Adopt(path string, kind Kind) error {
	if err := Check(path, kind); err != nil {
		return err
	}
	return Restrict(path, kind == Dir)
}

// Restrict leaves path to its owner: 0700 for a folder, 0600 for a file.
func Restrict(path string, isDir bool) error {
	mode := os.FileMode(0o600)
	if isDir {
		mode = 0o700
	}
	return os.Chmod(path, mode)
}

// chownName is what chown takes for uid: its name, else the number.
func chownName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// name is a uid with its user name, for messages.
func name(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

// Inherit gives a file root just created to the owner of its folder, when
// that is another account: an admin who runs a command as root beside the
// service (which runs as its own account) must not leave it a database,
// key or drop it cannot open. For anyone but root it does nothing.
func Inherit(path string) error {
	if euid() != 0 {
		return nil
	}
	info, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("give %s to the owner of its folder (uid %d): %w", path, st.Uid, err)
	}
	return nil
}

// ServiceUID is the uid of the service's account, -1 if there is none.
func ServiceUID() int { return serviceUID() }

// ReadFix says how to let this account read the private file path it was
// refused: the service's own account cannot read a secret file an admin
// wrote as root with mode 0600, as the settings file's is, nor one in a
// folder closed to it (/root), where giving it the file is not enough.
func ReadFix(path string) string {
	me := euid()
	for dir := filepath.Dir(filepath.Clean(path)); ; dir = filepath.Dir(dir) {
		if unix.Access(dir, unix.X_OK) != nil {
			return fmt.Sprintf("this account (%s) may not pass through %s; move the file to a folder it may reach, "+
				"such as the settings file's, and give it the file there (chown %s, mode 600)", name(me), dir, chownName(me))
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	return fmt.Sprintf("this account (%s) may not read it; give it the file, private to it: sudo chown %s %s && sudo chmod 600 %s",
		name(me), chownName(me), path, path)
}
