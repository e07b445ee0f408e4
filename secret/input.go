package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode"

	"neurons-connector/internal/textenc"
)

// maxInput bounds what is read from a file or standard input: API tokens and
// client secrets are a few hundred bytes at most, and a mistaken path to a
// large file should fail fast instead of being sealed.
const maxInput = 64 << 10

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Form is what a secret looks like, which decides what input is refused as
// something other than the secret.
type Form int

const (
	// Word is one word of printable characters: an API token, a client
	// secret. Inner white space means the source holds something else.
	Word Form = iota
	// Text is lines of printable text: a PEM private key. Line breaks and
	// tabs are part of it; other control characters are not.
	Text
)

// FromEnv reads the secret held by the environment variable name.
func FromEnv(lookup func(string) (string, bool), name string) (Value, error) {
	return Word.FromEnv(lookup, name)
}

// FromFile reads the secret stored in the file at path.
func FromFile(path string) (Value, error) { return Word.FromFile(path) }

// FromReader reads the secret from r (standard input).
func FromReader(r io.Reader) (Value, error) { return Word.FromReader(r) }

// FromBytes checks a secret that arrived as bytes (the daemon's requests)
// with the rules of the other sources.
func FromBytes(b []byte) (Value, error) { return Word.FromBytes(b) }

// FromEnv reads a secret of form f held by the environment variable name.
func (f Form) FromEnv(lookup func(string) (string, bool), name string) (Value, error) {
	if !envName.MatchString(name) {
		return Value{}, fmt.Errorf("%q is not an environment variable name; give the variable's name, not its value", name)
	}
	s, ok := lookup(name)
	if !ok {
		return Value{}, fmt.Errorf("environment variable %s is not set; export it before running the command", name)
	}
	return f.clean([]byte(s), "environment variable "+name)
}

// FromFile reads a secret of form f stored in the file at path.
func (f Form) FromFile(path string) (Value, error) {
	file, err := os.Open(path)
	if err != nil {
		return Value{}, fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))
	}
	defer func() { _ = file.Close() }()
	return f.fromReader(file, "file "+path)
}

// FromReader reads a secret of form f from r (standard input).
func (f Form) FromReader(r io.Reader) (Value, error) { return f.fromReader(r, "standard input") }

// FromBytes checks a secret of form f that arrived as bytes (the daemon's
// requests) with the rules of the other sources.
func (f Form) FromBytes(b []byte) (Value, error) {
	return f.clean(append([]byte(nil), b...), "the secret")
}

func (f Form) fromReader(r io.Reader, what string) (Value, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return Value{}, fmt.Errorf("read %s: %w", what, err)
	}
	if len(b) > maxInput {
		return Value{}, fmt.Errorf("%s holds more than %d KiB; it must hold only the secret", what, maxInput>>10)
	}
	return f.clean(b, what)
}

// clean trims a UTF-8 byte-order mark (Notepad before 2019, PowerShell's
// -Encoding UTF8) and surrounding white space (a trailing newline from echo
// or an editor), and rejects UTF-16, inner white space or control
// characters (for Text, control characters other than line breaks and
// tabs), which mean the source holds something other than a single secret,
// and invisible characters (a zero-width space copied along with it): each
// would be sent as part of the secret, and refused by the provider at the
// first run, long after the secret was stored. A secret copied with its
// authorization scheme (SSWS 00…, from a curl example) is refused naming
// the scheme.
func (f Form) clean(b []byte, what string) (Value, error) {
	if textenc.UTF16(b) {
		return Value{}, fmt.Errorf("%s is UTF-16 (as Windows PowerShell 5 writes with > or Out-File); %s", what, textenc.Hint)
	}
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\ufeff")))
	if len(b) == 0 {
		return Value{}, fmt.Errorf("%s is empty; it must hold the secret", what)
	}
	if f == Word && len(b) >= 2 && (b[0] == '"' || b[0] == '\'') && b[len(b)-1] == b[0] {
		return Value{}, fmt.Errorf("%s holds the secret in quotes (copied from a JSON file or a shell line?); give the secret alone, "+
			"without them", what)
	}
	if m := settingsLine.FindSubmatch(b); f == Word && m != nil {
		// Only the variable's name is quoted: the part before =.
		return Value{}, fmt.Errorf("%s holds a settings line, %s=… (copied from a .env file?); give the secret alone, "+
			"the part after =", what, m[1])
	}
	if words := bytes.Fields(b); f == Word && len(words) > 1 && authScheme(string(words[0])) {
		// Only the scheme's name is quoted: it is one of authScheme's.
		return Value{}, fmt.Errorf("%s holds the scheme %s before the secret (copied from a request?); give the secret alone", what, words[0])
	}
	for _, r := range string(b) {
		if f == Text && (r == '\n' || r == '\r' || r == '\t' || r == ' ') {
			continue
		}
		if f == Text && unicode.IsControl(r) {
			return Value{}, fmt.Errorf("%s holds control characters; it must hold only the secret, as text", what)
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Value{}, fmt.Errorf("%s holds white space or control characters inside the secret; it must hold only the secret", what)
		}
		if !unicode.IsPrint(r) {
			return Value{}, fmt.Errorf("%s holds an invisible character (U+%04X, copied along with the secret?); type or copy the secret again", what, r)
		}
	}
	return New(b), nil
}

// unwrapPathError drops the path from an *os.PathError, which the caller
// already names, leaving "no such file or directory" and the like.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// settingsLine is NAME=value with a variable's name in capitals, as in a
// .env file: no secret starts that way (a base64 secret has = only at its
// end, as padding).
var settingsLine = regexp.MustCompile(`^([A-Z][A-Z0-9]*_[A-Z0-9_]*)=[^=\s]`)

// authScheme says whether word names an HTTP authorization scheme that
// a secret copied from a request or a curl example comes after.
func authScheme(word string) bool {
	switch strings.ToLower(word) {
	case "ssws", "bearer", "basic", "dpop":
		return true
	}
	return false
}
