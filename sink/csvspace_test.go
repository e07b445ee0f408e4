//go:build !windows

package sink

import (
	"errors"
	"io/fs"
	"path/filepath"
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
