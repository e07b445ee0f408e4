//go:build !windows

package sink

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"neurons-connector/fault"
)

// A disk that refuses the drop, its state or its journal is named with the
// fix; the batch stays in the outbox (a transient failure) and goes again
// once there is room.
func TestADiskThatRefusesTheDropIsNamed(t *testing.T) {
	dir := t.TempDir()
	c := &CSV{Dir: filepath.Join(dir, "csv"), State: filepath.Join(dir, "csvstate")}
	err := c.transient("write the drop", &fs.PathError{Op: "write", Path: filepath.Join(c.Dir, ".Okta prod-users.csv.tmp"), Err: syscall.ENOSPC})
	if !errors.Is(err, fault.ErrTransient) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("classes of %v", err)
	}
	want := "CSV drop: write the drop: the disk that holds " + c.Dir + " is full: free space on it; the batch waits in the outbox until then"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got %q\nwant %q", err, want)
	}
	other := c.transient("keep the batch", &fs.PathError{Op: "open", Path: filepath.Join(c.State, "j"), Err: syscall.EACCES})
	if strings.Contains(other.Error(), "disk") || !errors.Is(other, fault.ErrTransient) {
		t.Errorf("a refusal that is not the disk's: %v", other)
	}
}

// Here a drop open in another program is replaced all the same (which is
// why heldCodes is empty): the program keeps reading what it opened, and
// the next push is not held up.
func TestADropOpenElsewhereIsReplaced(t *testing.T) {
	dir := t.TempDir()
	c := &CSV{Dir: filepath.Join(dir, "csv"), State: filepath.Join(dir, "csvstate")}
	pushFinal(t, c, "r1", "Okta", "Engineer")
	held, err := os.Open(c.FileName("Okta"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	pushFinal(t, c, "r2", "Okta", "Architect")
	if rows := readDrop(t, c.FileName("Okta")); len(rows) != 2 || !slices.Contains(rows[1], "Architect") {
		t.Errorf("the drop after the second run: %q", rows)
	}
	kept, err := io.ReadAll(held)
	if err != nil || !strings.Contains(string(kept), "Engineer") || strings.Contains(string(kept), "Architect") {
		t.Errorf("what the other program reads: %q %v", kept, err)
	}
}
