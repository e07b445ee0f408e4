//go:build !windows

package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A run on a disk that fills up part-way (here a file size limit, which the
// kernel enforces the way it refuses writes to a full disk) fails with one
// line that says what refused the write and the fix, where it used to quote
// bbolt ("file resize error: truncate …: file too large"); once the limit
// is gone the next run delivers every selected user, and each only once.
func TestARunOnAFullDiskSaysSoAndLosesNothing(t *testing.T) {
	t.Parallel()
	sim, simURL, fake, dir, env := faultWorld(t, 8000, 12)
	runChild(t, env, 0, "connector", "add", "okta", "--name", "Disk", "--url", simURL, "--token-env", "CRASH_TOKEN",
		"--user-status", "active,suspended")
	// 2 MiB: the database of these 8,000 users outgrows it part-way.
	cmd := exec.Command("/bin/sh", "-c", `ulimit -S -f 2048 && exec "$0" run Disk`, os.Args[0])
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the run on a full disk: %v\n%s", err, out)
	}
	var line string
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "neurons-connector: ") {
			line = l
		}
	}
	for _, want := range []string{"largest size this process may write (ulimit -f", "lift that limit, then run again", "nothing committed before is lost"} {
		if !strings.Contains(line, want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
	// Part of the users went before the disk filled up: the next run must
	// not send them again.
	if n := len(fake.Users(clIDOf(t, dir))); n == 0 {
		t.Fatal("nothing was delivered before the disk filled up: the test proves less than it says")
	}
	runChild(t, env, 0, "run", "Disk")
	sinkIsExact(t, sim, fake, dir, nil)
}

// A backup that the disk refuses part-way says so with the fix, and leaves
// neither FILE nor half a copy.
func TestABackupOnAFullDiskSaysSo(t *testing.T) {
	t.Parallel()
	_, simURL, _, dir, env := faultWorld(t, 3000, 13)
	runChild(t, env, 0, "connector", "add", "okta", "--name", "Disk", "--url", simURL, "--token-env", "CRASH_TOKEN")
	runChild(t, env, 0, "run", "Disk")
	if st, err := os.Stat(filepath.Join(dir, "neurons-connector.db")); err != nil || st.Size() <= 512<<10 {
		t.Fatalf("the database: %v %v; the test needs one larger than the limit", st, err)
	}
	out := t.TempDir()
	// 512 KiB, in the shell's blocks of 1 KiB.
	cmd := exec.Command("/bin/sh", "-c", `ulimit -S -f 512 && exec "$0" database backup "$1"`, os.Args[0], filepath.Join(out, "copy.db"))
	cmd.Env = env
	got, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(got), "write the copy: a file in "+out+
		" has reached the largest size this process may write (ulimit -f") {
		t.Fatalf("exit %v:\n%s", err, got)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
