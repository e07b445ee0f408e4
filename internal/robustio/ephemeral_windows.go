package robustio

import (
	"errors"
	"slices"
	"syscall"
)

// ephemeral says whether err is what a scanner's brief hold gives a rename.
func ephemeral(err error) bool {
	var code syscall.Errno
	return errors.As(err, &code) && slices.Contains(HeldCodes, code)
}
