//go:build !windows

package service

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"neurons-connector/fault"
	"neurons-connector/internal/owndir"
	"neurons-connector/internal/private"
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
	made := map[string]bool{dataDir: !exists(dataDir)} // created here, for the account: no hand-over to speak of
	if err := mkdirFor(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", dataDir, err)
	}
	// The service's account must get through every folder on the way to
	// its settings file and data: a folder closed to it failed every start
	// with "permission denied" (install made /etc/neurons-connector 0700).
	if _, err := openSettingsFolder(in.EnvFile, filepath.Dir(DefaultEnvFile(nil)), acct); err != nil {
		return nil, err
	}
	var notes []string
	if _, warning := selinuxCheck(in.Executable); warning != "" {
		notes = append(notes, warning)
	}
	paths := []string{dataDir, in.EnvFile}
	drop := ""
	if csv := env["NC_CSV_DIR"]; csv != "" && !within(csv, dataDir) {
		// Made now: under ProtectSystem=strict the service could not make
		// it, and the drop waited in the outbox for good.
		made[csv] = !exists(csv)
		if err := mkdirFor(csv, 0o750); err != nil { // as the sink makes it: a collector in the account's group reads the drop
			return nil, fmt.Errorf("create the CSV drop's folder %s: %w", csv, err)
		}
		in.Writable = append(in.Writable, csv)
		paths, drop = append(paths, csv), csv
	}
	for _, p := range paths { // the folders above each; each itself is handed over below
		if err := reachableBy(p, acct); err != nil {
			return nil, err
		}
	}
	for _, p := range paths {
		hand := HandOver
		if p == drop {
			hand = handOverDrop
		}
		changed, err := hand(p, acct)
		if err != nil {
			return nil, fmt.Errorf("give %s to the %s account: %w", p, acct.Name, err)
		}
		if changed && p != in.EnvFile && !made[p] {
			notes = append(notes, fmt.Sprintf("handed %s over to the %s account (an earlier version ran the service as root)", p, acct.Name))
		}
	}
	return notes, nil
}

// handOverDrop gives the CSV drop's folder and the drop's own files in it
// to the service's account, which an earlier version's service wrote as
// root; anything else there is left as it is. A folder that holds more
// than the drop and that the account may already write is not its own,
// and is left whole (CheckInstall refused one it may not write).
func handOverDrop(dir string, a Account) (bool, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false, err
	}
	defer func() { _ = root.Close() }()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return false, err
	}
	names := []string{"."}
	for _, e := range entries {
		if !owndir.IsDrop(e.Name()) {
			return false, nil // someone else's folder
		}
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	changed := false
	for _, n := range names {
		did, err := handOne(root, n, filepath.Join(dir, n), a)
		if err != nil {
			return changed, err
		}
		changed = changed || did
	}
	return changed, nil
}

// RepairInstall mends, before a start, what an earlier version's install
// left that keeps the service from starting: the default settings folder
// closed to the service's account (install made it 0700 and root's, and
// every start failed with "permission denied"). It says what it mended.
func RepairInstall(in Install) []string {
	if runtime.GOOS != "linux" || Platform() != "linux-systemd" {
		return nil
	}
	acct, err := lookupAccount()
	if err != nil {
		return nil
	}
	settingsDir := filepath.Dir(DefaultEnvFile(nil))
	if opened, err := openSettingsFolder(in.EnvFile, settingsDir, acct); err != nil || !opened {
		return nil // nothing to mend, or the start says why it fails
	}
	return []string{fmt.Sprintf("let the %s account into %s (an earlier version's install had closed it, and the service could not "+
		"read its settings)", acct.Name, settingsDir)}
}

// CheckInstall says why the service, once installed, could not start, or
// nil; it changes nothing, and runs before anything is: on Linux with
// systemd, the binary must be where the service's account can run it
// (reachable), and its settings file and the folders of env (its
// settings: NC_DATA_DIR, NC_CSV_DIR) behind folders that let the account
// through (reachableBy; install opens the default settings folder itself).
func CheckInstall(in Install, env map[string]string) error {
	if runtime.GOOS != "linux" || Platform() != "linux-systemd" {
		return nil
	}
	if err := reachable(in.Executable, privateTmp); err != nil {
		return err
	}
	if refused, _ := selinuxCheck(in.Executable); refused != "" {
		return errors.New(refused)
	}
	acct, err := lookupAccount()
	if err != nil {
		acct = Account{Name: private.ServiceAccount, UID: -1, GID: -1} // to be created: a stranger to every folder
	}
	dataDir := cmp.Or(env["NC_DATA_DIR"], DefaultDataDirUnix)
	if err := owndir.CheckData(dataDir); err != nil {
		return err // install would give all it holds to the account
	}
	if err := checkSettingsFolder(in.EnvFile, dataDir, acct); err != nil {
		return err
	}
	if csv := env["NC_CSV_DIR"]; csv != "" && !within(csv, dataDir) {
		if err := checkDrop(csv, acct); err != nil {
			return err
		}
	}
	paths := []string{dataDir, env["NC_CSV_DIR"]}
	if filepath.Dir(in.EnvFile) != filepath.Dir(DefaultEnvFile(nil)) {
		paths = append(paths, in.EnvFile)
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := reachableBy(p, acct); err != nil {
			return err
		}
	}
	return checkHandOver(dataDir, in.EnvFile, env["NC_CSV_DIR"], acct)
}

// checkHandOver says why install may not give the data directory, the
// settings file or the CSV drop to the service's account: a file there
// has other names (links_unix.go). The drop's folder counts only when it
// is the drop's own: install hands over nothing of someone else's.
func checkHandOver(dataDir, envFile, csv string, acct Account) error {
	paths := []string{dataDir, envFile}
	if csv != "" && !within(csv, dataDir) {
		if other, err := owndir.ForeignDrop(csv); err != nil || other == "" {
			paths = append(paths, csv)
		}
	}
	for _, p := range paths {
		if err := checkLinks(p, acct); err != nil {
			return err
		}
	}
	return nil
}

// checkSettingsFolder says why install may not use envFile as the
// service's settings file, or nil. Install gives the file to the service's
// account, which reads it (mode 0600) and could then change it: named
// among other software's files (/etc/environment, /etc/profile.d/nc.sh,
// a cron.d or sudoers.d entry), it would let the service write what root's
// logins or jobs read. The default settings folder and the data directory
// are the program's; any other folder must hold nothing but the file,
// even when an earlier install gave the file to the account already (the
// opening is the same, and a new install would keep it).
func checkSettingsFolder(envFile, dataDir string, a Account) error {
	dir := filepath.Dir(envFile)
	if dir == filepath.Dir(DefaultEnvFile(nil)) || dir == filepath.Clean(dataDir) {
		return nil
	}
	other, err := owndir.ForeignBeside(envFile)
	if err != nil || other == "" {
		return err
	}
	return fault.Mark(fmt.Errorf("the settings file %s is in %s beside %s, which is not neurons-connector's: install gives the settings file "+
		"to the service's account %s, which could then change a file in a folder that other software reads; nothing was changed; keep the settings "+
		"in a folder of their own: move the file to %s (the default, then install without --env-file) or to a new folder",
		envFile, dir, other, a.Name, DefaultEnvFile(nil)), fault.ErrBadInput)
}

// checkDrop says why install may not use dir as the CSV drop's folder, or
// nil: a folder that holds more than the drop is someone else's, and
// install, which gives the drop's folder to the service's account, would
// take it from them; such a folder does only if the account may write
// there already (handOverDrop then leaves it alone).
func checkDrop(dir string, a Account) error {
	other, err := owndir.ForeignDrop(dir)
	if err != nil || other == "" {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if writableBy(fi, a) {
		return nil
	}
	letIn := fmt.Sprintf("let the account write there (sudo chgrp %s %s && sudo chmod g+rwx %s)", a.Name, dir, dir)
	if a.UID < 0 { // install creates the account: the group is not there to give yet
		letIn = fmt.Sprintf("install without NC_CSV_DIR, let the account write there (sudo chgrp %s %s && sudo chmod g+rwx %s), "+
			"then set NC_CSV_DIR in the settings file and install the service again (service uninstall, then service install; the settings file and data stay)", a.Name, dir, dir)
	}
	return fault.Mark(fmt.Errorf("NC_CSV_DIR %s holds %s, which is not the CSV drop's, and the service's account %s may not write there; "+
		"nothing was changed: point NC_CSV_DIR at a folder of its own, which install creates, or %s", dir, other, a.Name, letIn), fault.ErrBadInput)
}

// writableBy says whether account a may add files to the folder fi.
func writableBy(fi fs.FileInfo, a Account) bool { return lets(fi, a, 0o3) }

// lets is private.Lets for account a.
func lets(fi fs.FileInfo, a Account, bits fs.FileMode) bool {
	return private.Lets(fi, a.UID, a.GID, bits)
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

// mkdirFor creates dir with mode (it is handed over to the service's
// account) and the folders above it that are missing, which other
// accounts may pass through (0755, whatever the umask), as /var/lib is:
// os.MkdirAll(dir, 0o700) made them 0700 and root's, closed to the
// service.
func mkdirFor(dir string, mode os.FileMode) error {
	var missing []string
	for d := filepath.Clean(dir); !exists(d); d = filepath.Dir(d) {
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		m := os.FileMode(0o755)
		if i == 0 {
			m = mode
		}
		if err := os.Mkdir(missing[i], m); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.Chmod(missing[i], m); err != nil { // past the umask
			return err
		}
	}
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// openSettingsFolder lets the service's account into settingsDir, the
// folder of the default settings file, which install creates and keeps as
// the installing account's (root's): its group becomes the account's and
// its mode 0750. The file in it is the account's, mode 0600; nobody else
// may list the folder. It says whether it opened the folder.
func openSettingsFolder(envFile, settingsDir string, a Account) (opened bool, err error) {
	dir := filepath.Dir(envFile)
	if dir != settingsDir || reachableBy(envFile, a) == nil {
		return false, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return false, nil // not install's folder: reachableBy names it
	}
	if err := os.Chown(dir, -1, a.GID); err != nil {
		return false, fmt.Errorf("let the %s account into %s: %w", a.Name, dir, err)
	}
	return true, os.Chmod(dir, 0o750) //nolint:gosec // G302: a folder the service account must pass through; its file stays 0600
}

// reachableBy says why account a could not reach path: a folder on the
// way that lets neither its owner a, its group a's, nor others through.
func reachableBy(path string, a Account) error {
	for dir := filepath.Dir(filepath.Clean(path)); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			if dir == filepath.Dir(dir) {
				return nil
			}
			continue // made by install (mkdirFor), open to pass through
		}
		perm := fi.Mode().Perm()
		if !lets(fi, a, 0o1) {
			return fmt.Errorf("the service's account %s cannot reach %s: %s (mode %04o) is closed to it, and the service "+
				"would fail every start with \"permission denied\"; let it through (sudo chmod o+x %s) or choose another folder",
				a.Name, path, dir, perm, dir)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}
