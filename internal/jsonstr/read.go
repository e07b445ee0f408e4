package jsonstr

import (
	"encoding/json"
	"errors"
)

// Class sorts the bytes of a JSON string's contents for the decoders' fast
// paths: 0 stands as it is, 1 ends the fast path (a quote, a backslash or a
// control character), 2 lies beyond ASCII (valid only as UTF-8). A string
// whose bytes are all 0, or 2 and valid UTF-8, is used as it is: nearly
// every one.
var Class = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = 1
	}
	t['"'], t['\\'] = 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 2
	}
	return t
}()

// The ways Unquote fails.
var (
	ErrUnterminated = errors.New("unterminated string")
	ErrBadString    = errors.New("bad string")
)

// Unquote decodes the JSON string whose contents start at start in s (just
// after its opening quote) the slow way, for strings with escapes or
// invalid UTF-8: it finds the closing quote, then lets encoding/json decode
// (escapes decoded, invalid bytes turned into U+FFFD, a control character
// refused). It returns the string and the index of its closing quote.
func Unquote[T string | []byte](s T, start int) (string, int, error) {
	j := start
	for ; j < len(s) && s[j] != '"'; j++ {
		if s[j] == '\\' {
			j++
		}
	}
	if j >= len(s) {
		return "", 0, ErrUnterminated
	}
	var out string
	if err := json.Unmarshal([]byte(s[start-1:j+1]), &out); err != nil {
		return "", 0, ErrBadString
	}
	return out, j, nil
}
