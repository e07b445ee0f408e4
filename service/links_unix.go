//go:build !windows

package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"neurons-connector/fault"
)

// Install gives the data directory, the settings file and the CSV drop to
// the service's account. A file there with other names (hard links) is
// refused: another name may be a file of root's outside them. The account
// owns the data directory, so a service taken over could plant one (ln
// /etc/shadow /var/lib/neurons-connector/x) wherever fs.protected_hardlinks
// is off, and root's next install would give the account that file.

// checkLinks says why install may not hand path, and what is under it,
// over: a file it would change the owner of has other names. It changes
// nothing (CheckInstall).
func checkLinks(path string, a Account) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return linked(path, info, a, "nothing was changed")
	}
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return linked(p, info, a, "nothing was changed")
	})
}

// linked says why the file info (at path) may not be given to a: it has
// other names. A file a owns already is not changed, so it may have any.
func linked(path string, info fs.FileInfo, a Account, done string) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || info.IsDir() || st.Nlink <= 1 || ownedBy(info, a) {
		return nil
	}
	return fault.Mark(fmt.Errorf("%s has %d names (hard links), and install would give it to the service's account %s: "+
		"another name may be a file outside the service's folders, which would then be the account's too; %s; "+
		"if the other names are your own (a backup made with cp -l or rsnapshot), make this one a file of its own "+
		"(sudo cp -p %s %s.new && sudo mv %s.new %s), else remove it; find the others with: sudo find / -xdev -samefile %s",
		path, st.Nlink, a.Name, done, path, path, path, path, path), fault.ErrBadInput)
}

// opening is how a file or folder is opened to change its owner through
// the descriptor: a FIFO put in its place does not wait for a writer, and
// a terminal does not become the process's. (os.Root follows a symbolic
// link that stays inside it, O_NOFOLLOW or not; what is opened is checked
// through the descriptor either way.)
const opening = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// handOne gives one entry of root (shown as path) to a: a folder or a
// regular file, checked and changed through a descriptor, not by name.
// The account may rename entries in its own folders, so a name checked and
// then changed could be another file by then (a folder swapped for a
// second name of /etc/shadow). Anything else (a symbolic link, a FIFO) is
// not the program's and is left as it is.
func handOne(root *os.Root, name, path string, a Account) (bool, error) {
	info, err := root.Lstat(name)
	if err != nil || ownedBy(info, a) || (!info.IsDir() && !info.Mode().IsRegular()) {
		return false, err
	}
	f, err := root.OpenFile(name, opening, 0)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	if info, err = f.Stat(); err != nil || ownedBy(info, a) {
		return false, err
	}
	if err := linked(path, info, a, "it was not handed over"); err != nil {
		return false, err
	}
	return true, f.Chown(a.UID, a.GID)
}
