package cli

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// inertWriter is what the commands print through (stdout, and stderr under
// the progress line): text that came from elsewhere (a provider's error
// message, a profile's keys and values, a sink's answer, a user ID) goes to
// an admin's terminal inert. A terminal obeys the control characters in
// what it prints: an escape sequence can rewrite the screen, retitle the
// window, set the clipboard (OSC 52) or hide text, a carriage return can
// print a forged "OK" over a line, and a bidirectional override can
// reorder what a line seems to say. A user who may edit their own profile
// (a title, say) or a hostile server at a mistyped URL must not be able to
// do that through `explain`, `status` or a run's error; so each such
// character is printed as its escape (\x1b, \r, \u202e) instead. New lines
// and tabs pass: the commands' own output is made of them. The progress
// bar writes to the terminal directly, with its own carriage returns.
type inertWriter struct{ w io.Writer }

func (i inertWriter) Write(p []byte) (int, error) {
	if _, err := i.w.Write(inert(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// inert returns p with every control character but new lines and tabs
// replaced by its escape; p itself when it has none (the usual case).
func inert(p []byte) []byte {
	var out []byte
	done := 0
	for at := 0; at < len(p); {
		r, size := rune(p[at]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(p[at:])
		}
		if live(r) {
			if out == nil {
				out = make([]byte, 0, len(p)+16)
			}
			out = append(out, p[done:at]...)
			out = append(out, escape(r)...)
			done = at + size
		}
		at += size
	}
	if out == nil {
		return p
	}
	return append(out, p[done:]...)
}

// live reports whether a terminal acts on r rather than showing it: C0
// controls but new line and tab, DEL, C1 controls (U+009B is a CSI on many
// terminals), and the bidirectional overrides and isolates.
func live(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
		return true
	}
	return false
}

func escape(r rune) string {
	switch r {
	case '\r':
		return `\r`
	case 0x1b:
		return `\x1b`
	}
	if r < 0x20 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	// DEL and beyond as JSON writes them: in --json output (whose encoder
	// leaves them as they are) the escape keeps the document valid.
	return fmt.Sprintf(`\u%04x`, r)
}
