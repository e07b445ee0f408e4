package sink

import "syscall"

// heldCodes are the codes Windows gives a rename over a file that another
// program holds open.
var heldCodes = []syscall.Errno{errorAccessDenied, errorSharingViolation, errorLockViolation}
