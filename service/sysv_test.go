//go:build !windows

package service

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ksvc "github.com/kardianos/service"
)

// kardianos's SysV uninstall removes the init script and leaves its links
// in /etc/rc?.d; they go too, and only they.
func TestSysVUninstallRemovesTheScriptsLinks(t *testing.T) {
	etc := t.TempDir()
	script := filepath.Join(etc, "init.d", Name)
	mk := func(dir string) {
		if err := os.MkdirAll(filepath.Join(etc, dir), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	mk("init.d")
	var ours []string
	for _, l := range []string{"rc0.d/K02", "rc2.d/S50", "rc6.d/K02"} {
		mk(filepath.Dir(l))
		ours = append(ours, filepath.Join(etc, l+Name))
		if err := os.Symlink(script, ours[len(ours)-1]); err != nil {
			t.Fatal(err)
		}
	}
	mk("rc3.d")
	elsewhere := filepath.Join(etc, "rc3.d", "S20"+Name)
	if err := os.Symlink("/opt/other/init", elsewhere); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(etc, "rc3.d", "K01"+Name)
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sysvUnlink(etc, Name); err != nil {
		t.Fatal(err)
	}
	for _, l := range ours {
		if _, err := os.Lstat(l); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there: %v", l, err)
		}
	}
	for _, keep := range []string{elsewhere, file} {
		if _, err := os.Lstat(keep); err != nil {
			t.Errorf("%s, not a link to the script, was removed: %v", keep, err)
		}
	}
}

// A stopped service's init script answers "Stopped" with exit 1, which
// kardianos reports as a failure: stopped when the script is there, not
// installed when it is not; other failures stay failures.
func TestSysVStatusOfAStoppedService(t *testing.T) {
	exit := func(code string) error { return exec.Command("sh", "-c", "exit "+code).Run() }
	etc := t.TempDir()
	if st, err := sysvStatus(etc, Name, ksvc.StatusUnknown, exit("1")); st != ksvc.StatusUnknown || !errors.Is(err, ksvc.ErrNotInstalled) {
		t.Errorf("no script: %v %v", st, err)
	}
	if err := os.MkdirAll(filepath.Join(etc, "init.d"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "init.d", Name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"1", "3"} {
		if st, err := sysvStatus(etc, Name, ksvc.StatusUnknown, exit(code)); st != ksvc.StatusStopped || err != nil {
			t.Errorf("exit %s: %v %v", code, st, err)
		}
	}
	if _, err := sysvStatus(etc, Name, ksvc.StatusUnknown, exit("4")); err == nil {
		t.Error("exit 4 (no permission) passed for an answer")
	}
	if st, err := sysvStatus(etc, Name, ksvc.StatusRunning, nil); st != ksvc.StatusRunning || err != nil {
		t.Errorf("running: %v %v", st, err)
	}
}
