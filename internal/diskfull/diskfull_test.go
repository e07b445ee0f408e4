//go:build !windows

package diskfull

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestDescribe(t *testing.T) {
	write := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "write", Path: "/var/lib/nc/neurons-connector.db", Err: errno}
	}
	cases := []struct {
		err  error
		want string // "" means not a refusal of the disk
	}{
		{write(syscall.ENOSPC), "the disk that holds /var/lib/nc is full: free space on it"},
		{fmt.Errorf("commit: %w", write(syscall.EDQUOT)), "disk quota of the account the connector runs as is used up on /var/lib/nc"},
		{write(syscall.EFBIG), "largest size this process may write (ulimit -f"},
		// bbolt's own wording keeps only the text of the cause.
		{fmt.Errorf("file resize error: %s", write(syscall.EFBIG)), "largest size this process may write"}, //nolint:errorlint // as bbolt words it
		{fmt.Errorf("file sync error: %s", write(syscall.ENOSPC)), "is full"},                              //nolint:errorlint // as bbolt words it
		{write(syscall.EROFS), "the file system that holds /var/lib/nc is read-only"},
		{write(syscall.EACCES), ""},
		{write(syscall.EIO), ""},
		{errors.New("HTTP 413: request too large"), ""},
		{nil, ""},
	}
	for _, tc := range cases {
		got, ok := Describe(tc.err, "/var/lib/nc")
		if ok != (tc.want != "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q %v, want %q", tc.err, got, ok, tc.want)
		}
	}
}

// Under systemd (INVOCATION_ID set), a read-only file system is most
// likely the unit's sandbox: ProtectSystem=strict and a folder missing
// from ReadWritePaths=, such as an NC_CSV_DIR set after service install.
// On a real systemd the CSV drop's error said only "read-only … see the
// system's log" (scripts/systemd-test.sh).
func TestAReadOnlyFolderOfAServiceNamesItsSandbox(t *testing.T) {
	old := sandboxed
	t.Cleanup(func() { sandboxed = old })
	sandboxed = func() bool { return true }
	err := &fs.PathError{Op: "mkdir", Path: "/srv/drop", Err: syscall.EROFS}
	got, ok := Describe(err, "/srv/drop")
	if !ok || !strings.HasPrefix(got, "the service may not write /srv/drop: its unit (ProtectSystem=strict)") ||
		!strings.Contains(got, "service uninstall, then service install") {
		t.Errorf("%q %v", got, ok)
	}
	if got, _ := Describe(&fs.PathError{Op: "write", Path: "/srv/drop/x", Err: syscall.ENOSPC}, "/srv/drop"); !strings.Contains(got, "is full") {
		t.Errorf("a full disk under systemd: %q", got)
	}
	sandboxed = func() bool { return false }
	if got, _ := Describe(err, "/srv/drop"); !strings.HasPrefix(got, "the file system that holds /srv/drop is read-only") {
		t.Errorf("outside systemd: %q", got)
	}
}
