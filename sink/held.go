package sink

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"

	"neurons-connector/internal/robustio"
)

// Windows' answers to replacing a file that another program holds open
// without sharing its deletion, as Excel holds every file it shows. Access
// denied is also what a file the account may not change gets, so its words
// name both.
const (
	errorAccessDenied     = robustio.AccessDenied
	errorSharingViolation = robustio.SharingViolation
	errorLockViolation    = robustio.LockViolation
)

// heldBy says why a rename over a drop failed when codes (the system's
// codes for a destination held open: heldCodes) include its cause, and
// false otherwise. An admin who opens the drop in Excel on the server
// keeps it from being replaced for as long as it stays open; "Access is
// denied." alone sends them to the folder's permissions instead.
func heldBy(err error, codes []syscall.Errno) (string, bool) {
	var le *os.LinkError
	var code syscall.Errno
	if !errors.As(err, &le) || !errors.As(le.Err, &code) || !slices.Contains(codes, code) {
		return "", false
	}
	if code == errorAccessDenied {
		return fmt.Sprintf("%s could not be replaced: another program has it open (Excel keeps open every file it shows), "+
			"or the account the connector runs as may not change it: close it there (open a copy to keep reading it), "+
			"or let that account write it", le.New), true
	}
	return fmt.Sprintf("%s is open in another program, which keeps it from being replaced (Excel keeps open every file it shows): "+
		"close it there, and open a copy to keep reading it", le.New), true
}
