//go:build !windows

package private

import (
	"errors"
	"fmt"
	"io/fs"
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
// A file is changed through a descriptor of its own name (see own).
func Restrict(path string, isDir bool) error {
	if isDir {
		// The data directory, whose name is the admin's (a link to another
		// disk is theirs to make).
		return os.Chmod(path, 0o700) //nolint:gosec // G302: a folder must be entered (x); 0700 is still its owner's alone
	}
	f, info, err := own(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if info.Mode().Perm() == 0o600 {
		return nil
	}
	if err := single(path, info); err != nil {
		return err
	}
	return f.Chmod(0o600)
}

// own opens path to change its mode or owner through the descriptor.
// Root does that in folders of the service's account (a command run beside
// the service), which may put any name there. In a folder another account
// owns or may write, a symbolic link, which chmod would follow to a system
// file, is refused (the program makes its files there itself, never
// links); elsewhere (the admin's own NC_CSV_DIR) one is followed. Either
// way what is changed is what was opened, even if the name is swapped
// meanwhile.
func own(path string) (*os.File, os.FileInfo, error) {
	f, err := OpenOwn(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// OpenOwn is os.OpenFile for a file the program keeps: in a folder an
// account other than this one and root owns or may write (the data
// directory, when root runs a command beside the service), it does not
// follow a symbolic link, which could name any file (bbolt would write a
// new database into /etc/ld.so.preload through one).
func OpenOwn(path string, flag int, perm os.FileMode) (*os.File, error) {
	if plantable(filepath.Dir(path)) {
		flag |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flag, perm) //nolint:gosec // G304: a file of the program's own
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link in a folder another account may change, where the program keeps "+
			"a file of its own: it is not followed (it could name any file); if you made it, put what it names there "+
			"instead, or point the setting at the real path; else remove it", path)
	}
	return f, err
}

// plantable says whether an account other than this one and root may
// put names in dir: it owns dir, or may write there.
func plantable(dir string) bool {
	info, err := os.Stat(dir)
	if err != nil {
		return true
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return !ok || (int(st.Uid) != euid() && st.Uid != 0) || info.Mode().Perm()&0o022 != 0
}

// single says why the file info, at path, may not be changed: it has
// other names (hard links). Where fs.protected_hardlinks is off, an
// account may give any file a second name in its own folder, such as
// /etc/shadow's, for root to change.
func single(path string, info os.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || info.IsDir() || st.Nlink <= 1 {
		return nil
	}
	return fmt.Errorf("%s has %d names (hard links), so changing it would change the file under its other names too, "+
		"which may be anyone's: it was left as it is; make it a file of its own (cp -p %s %s.new && mv %s.new %s), "+
		"or remove it; find the others with: find / -xdev -samefile %s", path, st.Nlink, path, path, path, path, path)
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
// that is another account, through a descriptor of the file's own name
// (see own): an admin who runs a command as root beside the
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
	f, fi, err := own(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if fst, ok := fi.Sys().(*syscall.Stat_t); ok && fst.Uid == st.Uid && fst.Gid == st.Gid {
		return nil
	}
	if err := single(path, fi); err != nil {
		return err
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
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

// WritableFor says why root may not write in dir for the account that owns
// ref, a folder of the program's in the data directory: that account could
// not write there itself. The service's settings may come from a file its
// account can change (a settings file kept in the data directory), so a
// command root runs beside the service writes only where the service could
// (its CSV drop), or a service taken over would choose where root writes.
// For anyone but root, and beside a data directory of root's, it says
// nothing. A dir not made yet counts as the folder it would be made in.
func WritableFor(dir, ref string) error {
	if euid() != 0 {
		return nil
	}
	ri, err := os.Stat(ref)
	if err != nil {
		return nil // nothing of the account's to write for yet
	}
	rs, ok := ri.Sys().(*syscall.Stat_t)
	if !ok || rs.Uid == 0 {
		return nil
	}
	at := filepath.Clean(dir)
	info, err := os.Stat(at)
	for errors.Is(err, fs.ErrNotExist) && filepath.Dir(at) != at {
		at = filepath.Dir(at)
		info, err = os.Stat(at)
	}
	if err != nil {
		return err
	}
	if Lets(info, int(rs.Uid), int(rs.Gid), 0o3) {
		return nil
	}
	return fmt.Errorf("%s is a folder %s, which owns the data directory, may not write: run as root beside the service, "+
		"a command writes only where the service could (its settings may come from a file that account can change); "+
		"let that account write there (chown %s %s), point the setting at a folder it may write, or run the command as that account",
		at, name(int(rs.Uid)), chownName(int(rs.Uid)), at)
}

// Lets says whether the folder fi grants the account uid (of group gid)
// the permission bits (as others' bits: 0o1 to pass through, 0o3 to add
// files), as its owner, through its group, or as anyone.
func Lets(fi fs.FileInfo, uid, gid int, bits fs.FileMode) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	perm := fi.Mode().Perm()
	return !ok || perm&bits == bits ||
		(int(st.Uid) == uid && perm&(bits<<6) == bits<<6) || (int(st.Gid) == gid && perm&(bits<<3) == bits<<3)
}
