package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"unicode"
)

// maxInput bounds what is read from a file or standard input: API tokens and
// client secrets are a few hundred bytes at most, and a mistaken path to a
// large file should fail fast instead of being sealed.
const maxInput = 64 << 10

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FromEnv reads the secret held by the environment variable name.
func FromEnv(lookup func(string) (string, bool), name string) (Value, error) {
	if !envName.MatchString(name) {
		return Value{}, fmt.Errorf("%q is not an environment variable name; give the variable's name, not its value", name)
	}
	s, ok := lookup(name)
	if !ok {
		return Value{}, fmt.Errorf("environment variable %s is not set; export it before running the command", name)
	}
	return clean([]byte(s), "environment variable "+name)
}

// FromFile reads the secret stored in the file at path.
func FromFile(path string) (Value, error) {
	f, err := os.Open(path)
	if err != nil {
		return Value{}, fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))
	}
	defer func() { _ = f.Close() }()
	return fromReader(f, "file "+path)
}

// FromReader reads the secret from r (standard input).
func FromReader(r io.Reader) (Value, error) { return fromReader(r, "standard input") }

// FromBytes checks a secret that arrived as bytes (the daemon's requests)
// with the rules of the other sources.
func FromBytes(b []byte) (Value, error) { return clean(append([]byte(nil), b...), "the secret") }

func fromReader(r io.Reader, what string) (Value, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return Value{}, fmt.Errorf("read %s: %w", what, err)
	}
	if len(b) > maxInput {
		return Value{}, fmt.Errorf("%s holds more than %d KiB; it must hold only the secret", what, maxInput>>10)
	}
	return clean(b, what)
}

// clean trims surrounding white space (a trailing newline from echo or an
// editor) and rejects inner white space or control characters, which mean the
// source holds something other than a single secret.
func clean(b []byte, what string) (Value, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return Value{}, fmt.Errorf("%s is empty; it must hold the secret", what)
	}
	for _, r := range string(b) {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Value{}, fmt.Errorf("%s holds white space or control characters inside the secret; it must hold only the secret", what)
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
