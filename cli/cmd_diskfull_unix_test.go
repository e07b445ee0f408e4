//go:build !windows

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// limitFileSize makes writes past v bytes fail in this process, as on a
// full disk (Go ignores SIGXFSZ, so the write returns an error).
func limitFileSize(v string) {
	if v == "" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err == nil {
		err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n})
	}
	if err != nil {
		panic(err)
	}
}

// A disk that fills up in the middle of a run: the run fails with the
// operating system's reason, and once there is room again the next run
// ends with the sink exact, nothing lost or doubled. The child limits its
// own file size (limitFileSize, called by TestMain), which is what a full
// disk looks like to the program: a write that fails.
func TestDiskFullMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	sim, simURL, fake, dir, env := faultWorld(t, 4000, 12)
	cli := func(extra []string, args ...string) (int, string) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(append([]string(nil), env...), extra...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	if code, out := cli(nil, "connector", "add", "okta", "--name", "Full", "--url", simURL, "--token-env", "CRASH_TOKEN"); code != 0 {
		t.Fatal(out)
	}
	code, out := cli([]string{"NC_TEST_FSIZE=300000"}, "run", "Full")
	if code != 1 || !strings.Contains(out, "file too large") {
		t.Fatalf("a run on a full disk: exit %d:\n%s", code, out)
	}
	t.Logf("on a full disk: %s", out)
	if code, out := cli(nil, "run", "Full"); code != 0 {
		t.Fatalf("the run after the disk had room again: exit %d:\n%s", code, out)
	}
	// A disk that takes no write at all (what a read-only one is to a file
	// already open): the command fails with the reason, and the database
	// still holds exactly what it held.
	_, before := cli(nil, "connector", "list", "--json")
	code, out = cli([]string{"NC_TEST_FSIZE=0"}, "connector", "add", "okta", "--name", "Other", "--url", simURL, "--token-env", "CRASH_TOKEN")
	if code != 1 || !strings.Contains(out, "file too large") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("a write to a disk that takes none: exit %d: %q", code, out)
	}
	if _, after := cli(nil, "connector", "list", "--json"); after != before {
		t.Errorf("the failed write changed the connectors:\n%s\n%s", before, after)
	}
	want := sim.IDs("ACTIVE")
	got := fake.Users(clIDOf(t, dir))
	if len(got) != len(want) {
		t.Fatalf("the sink holds %d users, the source selects %d", len(got), len(want))
	}
	for _, id := range want {
		if rec, ok := got[id]; !ok || rec.Upserts != 1 {
			t.Fatalf("user %s: %+v", id, rec)
		}
	}
}
