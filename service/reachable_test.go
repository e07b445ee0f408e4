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
