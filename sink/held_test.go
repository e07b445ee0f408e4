package sink

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"neurons-connector/fault"
)

// windowsHeld are the codes Windows gives a rename over a file another
// program holds open (held_windows.go), for the platforms that have none.
var windowsHeld = []syscall.Errno{errorAccessDenied, errorSharingViolation, errorLockViolation}

// A drop that another program holds open (Excel on a Windows server) is
// named as such, with the fix; the batch waits in the outbox.
func TestADropHeldOpenIsNamed(t *testing.T) {
	drop := filepath.Join(`C:\ProgramData\neurons-connector\csv`, "Okta-users.csv")
	rename := func(code syscall.Errno) error {
		return &os.LinkError{Op: "rename", Old: filepath.Join(filepath.Dir(drop), ".Okta-users.csv.123"), New: drop, Err: code}
	}
	cases := []struct {
		err  error
		want string // "" means not a held drop
	}{
		{rename(errorSharingViolation), drop + " is open in another program, which keeps it from being replaced (Excel keeps open every file it shows): close it there"},
		{rename(errorLockViolation), drop + " is open in another program"},
		{rename(errorAccessDenied), drop + " could not be replaced: another program has it open (Excel keeps open every file it shows), or the account the connector runs as may not change it"},
		{rename(syscall.Errno(2)), ""},                                          // the temporary file gone
		{&fs.PathError{Op: "open", Path: drop, Err: errorSharingViolation}, ""}, // not the rename
		{errors.New("rename: The process cannot access the file"), ""},
	}
	for _, tc := range cases {
		got, ok := heldBy(tc.err, windowsHeld)
		if ok != (tc.want != "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q %v\nwant %q", tc.err, got, ok, tc.want)
		}
		if _, ok := heldBy(tc.err, nil); ok {
			t.Errorf("%v: held where no code means it", tc.err)
		}
	}

	old := heldCodes
	heldCodes = windowsHeld
	t.Cleanup(func() { heldCodes = old })
	c := &CSV{Dir: filepath.Dir(drop), State: t.TempDir()}
	err := c.transient("write the drop", rename(errorSharingViolation))
	if !errors.Is(err, fault.ErrTransient) || !errors.Is(err, errorSharingViolation) {
		t.Errorf("classes of %v", err)
	}
	want := "CSV drop: write the drop: " + drop + " is open in another program"
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "; the batch waits in the outbox until then (rename ") {
		t.Errorf("got %q\nwant %q…", msg, want)
	}
}
