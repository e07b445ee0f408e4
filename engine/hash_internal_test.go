package engine

import (
	"bytes"
	"testing"

	"neurons-connector/mapping"
)

// Unchanged is what explain says of a user: it must agree with the run's
// decision for both kinds of stored hash, and never call a user who was
// not delivered (zero hash) unchanged.
func TestUnchangedAcceptsKeyedAndOlderHashes(t *testing.T) {
	rec, err := mapping.ParseRecord([]byte(`{"User.FirstName":"Ada","User.LastName":"Lovelace"}`))
	if err != nil {
		t.Fatal(err)
	}
	edited, err := mapping.ParseRecord([]byte(`{"User.FirstName":"Ada","User.LastName":"Byron"}`))
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	h := recordHasher{key: key}
	attrs := rec.AppendJSON(nil)
	keyed, older := h.sum(attrs), legacyHash(attrs)
	if keyed == older {
		t.Fatal("the keyed hash is SHA-256's")
	}
	for _, c := range []struct {
		name   string
		key    []byte
		rec    mapping.Record
		stored [16]byte
		want   bool
	}{
		{"keyed, same record", key, rec, keyed, true},
		{"older build's, same record", key, rec, older, true},
		{"keyed, record changed", key, edited, keyed, false},
		{"older build's, record changed", key, edited, older, false},
		{"another key's", bytes.Repeat([]byte{8}, 32), rec, keyed, false},
		{"no key yet, older build's", nil, rec, older, true},
		{"never delivered", key, rec, [16]byte{}, false},
	} {
		if got := Unchanged(c.key, c.rec, c.stored); got != c.want {
			t.Errorf("%s: Unchanged %v, want %v", c.name, got, c.want)
		}
	}
}
