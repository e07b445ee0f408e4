package service

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	ksvc "github.com/kardianos/service"
)

// On a Linux host without systemd, kardianos installs a SysV init script,
// /etc/init.d/neurons-connector, linked from /etc/rc?.d. Two of its answers
// are mended here. Its uninstall removes the script and leaves the links,
// which then fail at every boot and shutdown ("not found"). Its status
// takes the script's answer for a stopped service ("Stopped", exit 1) for
// a failure, so `service status` of a stopped service was an error.
const sysvPlatform = "unix-systemv"

// sysvEtc is where the init script and its links are (a test's folder).
var sysvEtc = "/etc"

// sysvUnlink removes the links to name's init script from etc's rc?.d
// folders, and only those: a link of the same name that points elsewhere
// is someone else's.
func sysvUnlink(etc, name string) error {
	script := filepath.Join(etc, "init.d", name)
	links, err := filepath.Glob(filepath.Join(etc, "rc?.d", "[SK][0-9][0-9]"+name))
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		if to, err := os.Readlink(l); err != nil || to != script {
			continue
		}
		if err := os.Remove(l); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sysvStatus mends kardianos's answer (st, err) for name's init script
// under etc: the script's exit 1 (its "Stopped") or 3 (LSB's "not
// running") is a stopped service when the script is there, and no service
// when it is not (Debian's `service` exits 1 for an unknown name too).
func sysvStatus(etc, name string, st ksvc.Status, err error) (ksvc.Status, error) {
	var exit *exec.ExitError
	if !errors.As(err, &exit) || (exit.ExitCode() != 1 && exit.ExitCode() != 3) {
		return st, err
	}
	if _, serr := os.Stat(filepath.Join(etc, "init.d", name)); errors.Is(serr, fs.ErrNotExist) {
		return ksvc.StatusUnknown, ksvc.ErrNotInstalled
	}
	return ksvc.StatusStopped, nil
}
