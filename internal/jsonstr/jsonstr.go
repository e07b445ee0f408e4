// Package jsonstr appends JSON strings to byte slices, for the hand-written
// encoders on hot paths (mapped records, batch bodies, the simulators'
// pages), where encoding/json's reflection would dominate the cost.
package jsonstr

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// needEscape marks the bytes a JSON string cannot hold as they are.
var needEscape = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// Plain reports whether s is written in JSON as it is, between quotes: no
// quote, backslash or control character, and valid UTF-8. Only a string
// with letters beyond ASCII is checked for valid UTF-8 (that check was a
// third of Append).
func Plain(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needEscape[c] {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s)
}

// Append writes s to b as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, the rest (non-ASCII
// letters included) verbatim.
func Append(b []byte, s string) []byte {
	b = append(b, '"')
	if Plain(s) { // nearly every value: one copy
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !needEscape[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
