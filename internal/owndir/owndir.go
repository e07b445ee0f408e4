// Package owndir tells a folder of the program's own from one an admin
// named by mistake. The data directory is made private (mode 0700, on
// Windows an ACL of its own) and, by `service install`, given with all it
// holds to the service's account; the CSV drop's folder is given to that
// account too. Pointed at a folder that other software or people use
// (NC_DATA_DIR=/var/lib, /srv, a home, C:\ProgramData), either would
// have closed or re-owned what they keep there: the host's other services
// broken by one typo in a setting. Such a folder is refused instead,
// before anything is changed.
package owndir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"neurons-connector/fault"
	"neurons-connector/internal/private"
)

// Database is the database's file name (store.FileName; a test keeps them
// equal): a folder that holds it is a data directory already, whatever
// else an admin has put beside it since.
const Database = "neurons-connector.db"

// dataNames are the other entries the program keeps in a data directory
// (README, "Where data lives"); lost+found, which a disk of its own
// mounted there has; and what a file manager leaves in a folder it showed.
var dataNames = map[string]bool{
	"secret.key": true, "csvstate": true, "csv": true, "daemon.sock": true, "daemon.pipe": true,
	"control.token": true, "daemon.json": true, "lost+found": true,
	"desktop.ini": true, "Thumbs.db": true, ".DS_Store": true,
}

// dataPrefixes begin the names of the program's temporary files there:
// the database's copies (.restore, .salvage, .damaged-…, schema backups),
// the pipe name's, and a run's spill files.
var dataPrefixes = []string{Database + ".", "daemon.pipe.", ".spill-"}

// scan is how many entries a check reads: one foreign entry is enough, and
// a folder such as /home may hold very many.
const scan = 256

// AdoptData checks the data directory dir as private.Adopt does (its
// owner), and narrows it to 0700 (on Windows replaces its ACL); before a
// narrowing that would change it, CheckData. A folder private already
// loses nothing (an admin who copied a backup into the data directory
// before restoring it is not refused); on Windows, whose modes say
// nothing of ACLs, it is always checked. Install, which hands the folder
// and all it holds to the service's account, checks it whatever its mode.
func AdoptData(dir string) error {
	if fi, err := os.Stat(dir); err != nil || runtime.GOOS == "windows" || fi.Mode().Perm()&0o077 != 0 {
		if err := CheckData(dir); err != nil {
			return err
		}
	}
	return private.Adopt(dir, private.Dir)
}

// CheckData says why dir may not be the data directory, or nil: it does
// not exist yet, holds the database, or holds nothing but what the program
// keeps there. The error is bad input (exit 2).
func CheckData(dir string) error {
	if _, err := os.Lstat(filepath.Join(dir, Database)); err == nil {
		return nil
	}
	other, err := foreign(dir, isData)
	if err != nil || other == "" {
		return err
	}
	return fault.Mark(fmt.Errorf("the data directory %s holds %s, which is not neurons-connector's: the data directory must be a folder of its own, "+
		"which the program makes private to the service (mode 0700); nothing was changed; point NC_DATA_DIR (or --data-dir) at a new folder, "+
		"such as %s", dir, other, filepath.Join(dir, "neurons-connector")), fault.ErrBadInput)
}

func isData(name string) bool {
	if name == Database || dataNames[name] {
		return true
	}
	for _, p := range dataPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// IsDrop says whether name is one of the CSV drop's files in its folder:
// a connector's "<name>-users.csv", the temporary copy it is written
// through (".<connector id>-users.csv.…"), or a check's probe.
func IsDrop(name string) bool {
	switch {
	case strings.HasSuffix(name, "-users.csv"),
		strings.HasPrefix(name, ".") && strings.Contains(name, "-users.csv."),
		strings.HasPrefix(name, ".neurons-connector-check."),
		name == "lost+found":
		return true
	}
	return false
}

// ForeignDrop returns an entry of the CSV drop's folder dir that is not
// the drop's, or "" when there is none (or no folder).
func ForeignDrop(dir string) (string, error) { return foreign(dir, IsDrop) }

// ForeignBeside returns an entry of file's folder that is neither file
// nor a copy of it that an editor or a package manager keeps beside it
// (file~, file.bak, file.dpkg-old, .file.swp), "" when there is none (or
// no folder). A settings file in a folder of its own is the program's;
// one among other files (/etc/environment, /etc/profile.d) is not.
func ForeignBeside(file string) (string, error) {
	base := filepath.Base(file)
	return foreign(filepath.Dir(file), func(n string) bool {
		return n == base || n == base+"~" || strings.HasPrefix(n, base+".") || strings.HasPrefix(n, "."+base+".") || n == "lost+found"
	})
}

// foreign returns the first of dir's entries (of the first scan) that ours
// does not claim, "" when there is none or dir does not exist.
func foreign(dir string, ours func(string) bool) (string, error) {
	f, err := os.Open(dir) //nolint:gosec // G304: the admin's own setting, only listed
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		// Nothing to tell, or not for this account to tell: a folder it
		// may not read is one it cannot narrow or hand over either, and
		// the owner's check (package private) names the fix.
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	names, err := f.Readdirnames(scan)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("list %s: %w", dir, err)
	}
	for _, n := range names {
		if !ours(n) {
			return n, nil
		}
	}
	return "", nil
}
