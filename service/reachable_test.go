//go:build !windows

package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// service install refuses a binary its unit could not start: one in a
// private /tmp, or behind a folder closed to other users (/root, a home of
// mode 0700), or not executable by them. Installed, each failed every
// start with systemd's status=203/EXEC.
func TestTheServiceMustReachItsBinary(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir's folders are 0700
			t.Fatal(err)
		}
	}
	mk := func(dir string, dirMode, fileMode os.FileMode) string {
		d := filepath.Join(base, dir)
		if err := os.Mkdir(d, dirMode); err != nil {
			t.Fatal(err)
		}
		exe := filepath.Join(d, "neurons-connector")
		if err := os.WriteFile(exe, []byte("#!/bin/true\n"), fileMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, dirMode); err != nil { // past the umask
			t.Fatal(err)
		}
		return exe
	}
	if err := reachable(mk("bin", 0o755, 0o755), nil); err != nil {
		t.Errorf("an open folder: %v", err)
	}
	for name, c := range map[string]struct {
		exe     string
		private []string
		want    string
	}{
		"closed folder":    {mk("home", 0o700, 0o755), nil, "is closed to other users (mode 0700)"},
		"group only":       {mk("grp", 0o750, 0o755), nil, "is closed to other users (mode 0750)"},
		"not executable":   {mk("priv", 0o755, 0o700), nil, "may not run"},
		"in a private tmp": {mk("tmp", 0o755, 0o755), []string{base}, "private " + base + " (PrivateTmp=yes)"},
	} {
		err := reachable(c.exe, c.private)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "sudo install -m 0755 "+c.exe+" /usr/local/bin/") {
			t.Errorf("%s: %v, want %q and the fix", name, err, c.want)
		}
	}
	if !strings.Contains(strings.Join(privateTmp, ","), "/tmp") {
		t.Error("/tmp is not among the private folders")
	}
}

// The service's account must get through every folder above its settings
// file and data. Install made /etc/neurons-connector mode 0700, root's: on
// a real systemd every start failed with "stat …/neurons-connector.env:
// permission denied". Folders install creates are now open to pass through
// (the data directory's parents 0755, the settings folder the account's
// group's, 0750), and a folder the admin closed is named before anything
// is installed.
func TestTheServiceCanReachItsSettingsAndData(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir's folders are 0700
			t.Fatal(err)
		}
	}
	other := Account{Name: "svc", UID: os.Geteuid() + 4242, GID: os.Getegid() + 4242}

	data := filepath.Join(base, "srv", "nc", "data")
	if err := mkdirFor(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]os.FileMode{filepath.Join(base, "srv"): 0o755, filepath.Join(base, "srv", "nc"): 0o755, data: 0o700} {
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %04o", dir, fi.Mode().Perm(), want)
		}
	}
	if err := reachableBy(data, other); err != nil {
		t.Errorf("the data directory's parents: %v", err)
	}
	// A closed folder above folders install would create is found too.
	closed := filepath.Join(base, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := reachableBy(filepath.Join(closed, "nc", "data"), other); err == nil || !strings.Contains(err.Error(), closed+" (mode 0700)") {
		t.Errorf("behind a closed folder: %v", err)
	}
	if err := os.Chmod(data, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := mkdirFor(data, 0o700); err != nil { // there already: left as it is
		t.Fatal(err)
	}
	if fi, _ := os.Stat(data); fi.Mode().Perm() != 0o750 {
		t.Errorf("an existing folder's mode changed to %04o", fi.Mode().Perm())
	}

	// The settings folder as install left it before: 0700, the installer's.
	settings := filepath.Join(base, "etc", "neurons-connector")
	for d, m := range map[string]os.FileMode{filepath.Dir(settings): 0o755, settings: 0o700} {
		if err := os.MkdirAll(d, m); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, m); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	env := filepath.Join(settings, "neurons-connector.env")
	err := reachableBy(env, other)
	if err == nil || !strings.Contains(err.Error(), settings+" (mode 0700) is closed to it") || !strings.Contains(err.Error(), "sudo chmod o+x "+settings) {
		t.Errorf("closed settings folder: %v", err)
	}
	// Another folder is the admin's: named, not changed.
	if _, err := openSettingsFolder(env, filepath.Join(base, "elsewhere"), other); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(settings); fi.Mode().Perm() != 0o700 {
		t.Errorf("a folder other than install's was changed: %04o", fi.Mode().Perm())
	}
	// Install's own folder is opened to the account's group, not to all.
	mine := Account{Name: "svc", UID: os.Geteuid() + 4242, GID: os.Getegid()}
	if _, err := openSettingsFolder(env, settings, mine); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(settings); fi.Mode().Perm() != 0o750 {
		t.Errorf("settings folder mode %04o, want 0750", fi.Mode().Perm())
	}
	if err := reachableBy(env, mine); err != nil {
		t.Errorf("after opening: %v", err)
	}
	if err := reachableBy(env, other); err == nil {
		t.Error("the folder is open to accounts outside its group")
	}
}
