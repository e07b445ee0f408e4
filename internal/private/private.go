// Package private decides whether the files the program trusts on its own
// (the data directory, the key, the settings file, a secret file named in
// the settings) are really private: they must belong to this account, the
// system (root; SYSTEM or Administrators) or the service's own account, and
// nobody else may write them, or, for secrets, read them. A root daemon
// started in a directory another user prepared would otherwise trust that
// user's key or settings. Every refusal names the path and the fix.
package private

import (
	"crypto/sha1" //nolint:gosec // G505: a service SID is defined as a SHA-1 of the name; nothing is secured by it
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"

	"neurons-connector/fault"
)

// ServiceAccount is the account the service runs as: a system user on
// Linux, the virtual account NT SERVICE\neurons-connector on Windows.
const ServiceAccount = "neurons-connector"

// Kind says what a path holds, which decides who else may touch it.
type Kind int

const (
	// Dir is the data directory: nobody else may write to it.
	Dir Kind = iota
	// Secret is a file that opens or holds secrets (the key, the
	// settings file): nobody else may read or write it.
	Secret
	// Input is a file read unattended, such as the secret file a setting
	// names: nobody else may write it.
	Input
)

// refuse is a violation: the admin's setup, so exit 2 and nothing changed.
func refuse(format string, args ...any) error {
	return fault.Mark(fmt.Errorf(format, args...), fault.ErrBadInput)
}

// serviceSID is the SID Windows gives the virtual account NT SERVICE\name:
// S-1-5-80 and the SHA-1 of the upper-case name in UTF-16LE, as five
// little-endian numbers. It exists whether or not the service is installed,
// so an ACL can name it before the service does.
func serviceSID(name string) string {
	units := utf16.Encode([]rune(strings.ToUpper(name)))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	sum := sha1.Sum(b) //nolint:gosec // G401: see the import
	parts := []string{"S-1-5-80"}
	for i := range 5 {
		parts = append(parts, fmt.Sprint(binary.LittleEndian.Uint32(sum[4*i:])))
	}
	return strings.Join(parts, "-")
}
