package cli

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// A key pasted on a terminal ends at the key's END line: the curve's
// parameters that `openssl ecparam -genkey` writes first do not end it.
func TestPastedKeyEndsAtItsEndLine(t *testing.T) {
	lines := func(ls ...string) func() ([]byte, error) {
		return func() ([]byte, error) {
			if len(ls) == 0 {
				return nil, io.EOF
			}
			l := ls[0]
			ls = ls[1:]
			return []byte(l), nil
		}
	}
	ec := []string{"-----BEGIN EC PARAMETERS-----", "BggqhkjOPQMBBw==", "-----END EC PARAMETERS-----",
		"-----BEGIN EC PRIVATE KEY-----", "MHcCAQEE", "-----END EC PRIVATE KEY-----", "typed after"}
	got, err := pasted(lines(ec...), true)
	if want := strings.Join(ec[:6], "\n") + "\n"; err != nil || string(got) != want {
		t.Errorf("an EC key after its parameters: %q, %v", got, err)
	}
	if got, err := pasted(lines("tok", "more"), false); err != nil || string(got) != "tok\n" {
		t.Errorf("a token: %q, %v", got, err)
	}
	if _, err := pasted(lines("-----BEGIN PRIVATE KEY-----"), true); !errors.Is(err, io.EOF) {
		t.Errorf("input that ends early: %v", err)
	}
}
