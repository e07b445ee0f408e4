// Package textenc tells the encodings Windows tools write text files in
// that a program reading UTF-8 must refuse rather than misread: Windows
// PowerShell 5 writes UTF-16 with > and Out-File, Notepad with "Unicode".
package textenc

import "bytes"

// UTF16 reports whether b looks like UTF-16 text: it starts with a UTF-16
// byte-order mark (either byte order), or at least a third of its bytes
// are NUL (UTF-16 without a mark: every other byte of ASCII text is NUL),
// and there is more than one. UTF-8 text holds no NUL at all.
func UTF16(b []byte) bool {
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return true
	}
	nuls := bytes.Count(b, []byte{0})
	return nuls > 1 && 3*nuls >= len(b)
}

// Hint says how to save a file as UTF-8 on Windows, for a message.
const Hint = "save it as UTF-8 (Notepad: Save as, Encoding UTF-8; PowerShell: Set-Content -Encoding UTF8)"
