package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"neurons-connector/internal/private"
)

// KeySize is the length of the sealing key: AES-256.
const KeySize = 32

// sealVersion prefixes every sealed blob so that a future change of cipher or
// layout can tell old blobs apart.
const sealVersion = 1

// ErrWrongKey means a sealed blob does not open with the key at hand: the key
// is not the one the secret was sealed with (or the blob was tampered with).
var ErrWrongKey = errors.New("secret key does not match the key the secrets were sealed with")

// ErrNoKeyFile means the key file does not exist and was not to be created.
var ErrNoKeyFile = errors.New("secret key file does not exist")

// ErrBadKey means the key given (the key file, NC_SECRET_KEY) is not a
// key at all: not base64, or not 32 bytes.
var ErrBadKey = errors.New("secret key is not a valid key")

// BadKeyError says what is wrong with a key, and where it came from once
// LoadKeyFile knows. Its message advises generating a key, which is right
// only while nothing is sealed: the store says otherwise (Problem).
type BadKeyError struct {
	Where   string // the key file's path; empty for NC_SECRET_KEY
	Problem string // "secret key is 0 bytes; it must be 32 bytes"
}

func (e *BadKeyError) Error() string {
	msg := e.Problem + "; generate one with: head -c 32 /dev/urandom | base64"
	if e.Where != "" {
		msg = e.Where + ": " + msg
	}
	return msg
}

// Unwrap lets errors.Is(err, ErrBadKey) match.
func (e *BadKeyError) Unwrap() error { return ErrBadKey }

// Sealer seals and opens secrets with one AES-256-GCM key.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer builds a Sealer from a raw 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, &BadKeyError{Problem: fmt.Sprintf("secret key is %d bytes; it must be %d bytes", len(key), KeySize)}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey decodes a base64 key, the form used by NC_SECRET_KEY and the key
// file. The error never quotes the input.
func ParseKey(b64 string) (*Sealer, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, &BadKeyError{Problem: "secret key is not valid base64"}
	}
	return NewSealer(raw)
}

// Seal encrypts plaintext. aad binds the blob to where it is stored (for
// example a connector ID and secret name) so that a blob copied to another
// place in the database does not open.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read random nonce: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, aad), nil
}

// Open decrypts a blob made by Seal with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("sealed secret is damaged or of an unknown version")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// maxKeyFile caps what is read of a key file: the key is 45 bytes of base64.
const maxKeyFile = 1 << 10

// LoadKeyFile reads the base64 key in path. With create set and no file
// there, it writes a new random key, private to this account, first. The
// file must belong to this account (or root, or the service's account) and
// be private (package private): the key opens every secret.
func LoadKeyFile(path string, create bool) (*Sealer, error) {
	data, err := readSmall(path, maxKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%s: %w", path, ErrNoKeyFile)
		}
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if err := private.Check(path, private.Secret); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	s, err := ParseKey(string(data))
	var bad *BadKeyError
	if errors.As(err, &bad) {
		bad.Where = path
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func createKeyFile(path string) (*Sealer, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = private.Restrict(path, false) // Windows: its own ACL, not the folder's
	}
	if werr == nil {
		werr = private.Inherit(path) // root beside a service of its own account
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write secret key file %s: %w", path, werr)
	}
	return NewSealer(key)
}

// readSmall reads at most limit bytes of path; a larger file is an error.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := private.OpenOwn(path, os.O_RDONLY, 0) // a link planted in its place is not followed
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s is larger than %d bytes; a key file holds one base64 key", path, limit)
	}
	return data, err
}
