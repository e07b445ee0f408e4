//go:build !windows

package store

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"neurons-connector/fault"
)

// spaceChild is the variable that makes the test binary the child of
// TestAFullDiskIsNamedAndOutlived.
const spaceChild = "NC_TEST_SPACE_CHILD_DB"

// spaceReport is what the child saw.
type spaceReport struct {
	Committed    int    // batches committed before the disk refused one
	Error        string // the refused commit's error
	Classified   bool   // a SpaceError, transient
	After        int    // batches committed once the limit was lifted, same process
	ReadBack     int    // the outbox's depth at the end
	FailureAfter string // any error after the limit was lifted
}

// A disk that refuses a commit (full, a quota, here a file size limit,
// which makes the kernel refuse writes past it as a full disk does) gives
// an error that says so and the fix, in the database's words, not bbolt's
// "file resize error: truncate …: file too large"; what was committed
// stays, the file stays sound, and the same process writes again once the
// limit is lifted, as a service does when an admin frees space. The child
// runs under a soft limit (ulimit -S -f), which it may lift itself.
func TestAFullDiskIsNamedAndOutlived(t *testing.T) {
	if path := os.Getenv(spaceChild); path != "" {
		fillThenLift(path)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	var rep spaceReport
	// 1024-byte blocks: the file may not grow past 4 MiB.
	underLimit(t, "-f 4096", spaceChild+"="+path, &rep)
	if rep.Committed == 0 || rep.Error == "" {
		t.Fatalf("the limit never bit: %+v", rep)
	}
	for _, want := range []string{"database " + path, "largest size this process may write", "ulimit -f", "nothing committed before is lost"} {
		if !strings.Contains(rep.Error, want) {
			t.Errorf("the error does not say %q: %s", want, rep.Error)
		}
	}
	if !rep.Classified || rep.FailureAfter != "" || rep.After != 20 || rep.ReadBack != rep.Committed+rep.After {
		t.Errorf("%+v", rep)
	}
	// The file is sound and holds every batch the child committed.
	report, err := Salvage{Path: path}.Run()
	if err != nil || !report.Sound() {
		t.Fatalf("check: %+v %v", report, err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	_ = db.View(func(tx *Tx) error {
		if n := tx.OutboxDepth("c1"); n != rep.ReadBack {
			t.Errorf("%d batches in the file, the child committed %d", n, rep.ReadBack)
		}
		return nil
	})
}

// underLimit runs the calling test again in a child process of this test
// binary, with env set and under the soft limit (ulimit -S limit, which the
// child may lift), and decodes the JSON line the child prints (childSays)
// into report.
func underLimit(t *testing.T, limit, env string, report any) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `ulimit -S `+limit+` && exec "$0" -test.run '^`+t.Name()+`$'`, exe)
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	line := out[:max(0, strings.IndexByte(string(out), '\n'))]
	if err := json.Unmarshal(line, report); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
}

// childSays prints a child's report as the one JSON line underLimit reads.
func childSays(report any) {
	b, _ := json.Marshal(report)
	fmt.Println(string(b))
}

// fillThenLift is the child: it queues 64 KiB batches until a commit is
// refused, lifts its soft file size limit, queues 20 more with the same
// handle, and prints what it saw as one JSON line.
func fillThenLift(path string) {
	var rep spaceReport
	defer func() { childSays(rep) }()
	db, err := Open(path, Options{Create: true})
	if err != nil {
		rep.Error = "open: " + err.Error()
		return
	}
	defer func() { _ = db.Close() }()
	batch := make([]byte, 64<<10)
	_, _ = rand.Read(batch) // incompressible, as a gzipped batch is
	queue := func(i int) error {
		return db.Update(func(tx *Tx) error {
			_, err := tx.Enqueue("c1", fmt.Sprint("c1:r:", i), 1, batch)
			return err
		})
	}
	for i := range 1000 {
		if err := queue(i); err != nil {
			var se *SpaceError
			rep.Error, rep.Classified = err.Error(), errors.As(err, &se) && errors.Is(err, fault.ErrTransient)
			break
		}
		rep.Committed++
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err == nil {
		lim.Cur = lim.Max
		err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
		if err != nil {
			rep.FailureAfter = "lift the limit: " + err.Error()
			return
		}
	}
	for i := range 20 {
		if err := queue(1000 + i); err != nil {
			rep.FailureAfter = err.Error()
			return
		}
		rep.After++
	}
	_ = db.View(func(tx *Tx) error {
		rep.ReadBack = tx.OutboxDepth("c1")
		return nil
	})
}
