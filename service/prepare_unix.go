//go:build !windows

package service

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// PrepareInstall readies the host for the service in: on Linux with
// systemd, the system account it runs as (created if missing), its data
// directory and CSV drop folder, and its settings file, all handed over to
// that account; env are the settings file's values. It returns what it did
// that an admin should know. Elsewhere (launchd) the service runs as root,
// as before.
func PrepareInstall(in *Install, env map[string]string) ([]string, error) {
	if runtime.GOOS != "linux" || Platform() != "linux-systemd" {
		return nil, nil
	}
	dataDir := env["NC_DATA_DIR"]
	if dataDir == "" {
		dataDir = DefaultDataDirUnix
	}
	acct, err := EnsureAccount(dataDir)
	if err != nil {
		return nil, err
	}
	in.User, in.DataDir = acct.Name, dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", dataDir, err)
	}
	var notes []string
	paths := []string{dataDir, in.EnvFile}
	if csv := env["NC_CSV_DIR"]; csv != "" && !within(csv, dataDir) {
		in.Writable = append(in.Writable, csv)
		paths = append(paths, csv)
	}
	for _, p := range paths {
		changed, err := HandOver(p, acct)
		if err != nil {
			return nil, fmt.Errorf("give %s to the %s account: %w", p, acct.Name, err)
		}
		if changed && p != in.EnvFile {
			notes = append(notes, fmt.Sprintf("handed %s over to the %s account (an earlier version ran the service as root)", p, acct.Name))
		}
	}
	return notes, nil
}

// CheckInstall says why the service, once installed, could not start, or
// nil; it changes nothing, and runs before anything is: on Linux with
// systemd, the binary must be where the service's account can run it
// (reachable).
func CheckInstall(in Install) error {
	if runtime.GOOS != "linux" || Platform() != "linux-systemd" {
		return nil
	}
	return reachable(in.Executable, privateTmp)
}

// privateTmp are the folders the unit's PrivateTmp=yes gives the service a
// private, empty copy of.
var privateTmp = []string{"/tmp", "/var/tmp"}

// reachable says why the service could not start the binary at exe, or
// nil: the unit runs it as the service's own account, which owns none of
// the folders on the way, with a private /tmp. A binary in /tmp, or in
// /root or a home that only its owner may enter (where `sudo ./…` from a
// download leaves it), would install, and then fail every start
// (systemd's status=203/EXEC).
func reachable(exe string, private []string) error {
	fix := fmt.Sprintf("copy it where the service can run it, then install from there: sudo install -m 0755 %s "+
		"/usr/local/bin/ && sudo -E /usr/local/bin/%s service install", exe, filepath.Base(exe))
	for _, dir := range private {
		if within(exe, dir) {
			return fmt.Errorf("the service cannot run %s: its unit gives it a private %s (PrivateTmp=yes), "+
				"where this binary is not; %s", exe, dir, fix)
		}
	}
	for dir := filepath.Dir(exe); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil // the install finds out anyway
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the service's account cannot reach %s: %s is closed to other users (mode %04o); %s",
				exe, dir, fi.Mode().Perm(), fix)
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	if fi, err := os.Stat(exe); err == nil && fi.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("the service's account may not run %s (mode %04o); %s", exe, fi.Mode().Perm(), fix)
	}
	return nil
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
