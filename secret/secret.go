// Package secret owns secret values in memory and at rest: a Value type that
// refuses to print itself, the ways an admin hands a secret to the program
// (environment variable, file, standard input), and AES-256-GCM sealing with
// the key that lives in the data directory or in NC_SECRET_KEY.
package secret

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted is what every formatting path prints instead of a secret.
const redacted = "[redacted]"

// Value holds a secret. Printing, logging or JSON-encoding it yields
// "[redacted]"; only Reveal gives the bytes, so a leak needs an explicit call
// that stands out in review.
type Value struct {
	b []byte
}

// New wraps b. The caller must not modify b afterwards.
func New(b []byte) Value { return Value{b: b} }

// Reveal returns the secret's bytes. Call it only at the point of use (an
// Authorization header, the sealing cipher).
func (v Value) Reveal() []byte { return v.b }

// IsSet reports whether the value holds any bytes.
func (v Value) IsSet() bool { return len(v.b) > 0 }

// String implements fmt.Stringer without revealing the secret.
func (v Value) String() string {
	if !v.IsSet() {
		return ""
	}
	return redacted
}

// GoString keeps %#v from dumping the bytes.
func (v Value) GoString() string { return "secret.Value(" + redacted + ")" }

// Format covers every fmt verb, %x and %q included.
func (v Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// LogValue keeps slog from reaching into the struct.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// MarshalJSON encodes the redaction, never the bytes: secrets do not travel
// as JSON.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// EnvDecode lets go-envconfig fill a Value without the bytes passing through a
// plain string field.
func (v *Value) EnvDecode(s string) error {
	v.b = []byte(s)
	return nil
}
