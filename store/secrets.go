package store

import (
	"bytes"
	"errors"
	"fmt"

	"neurons-connector/fault"
	"neurons-connector/secret"
)

// ErrNoKey means secrets were needed but the store was opened without a key.
var ErrNoKey = errors.New("no secret key configured")

// sealer loads the key on first use and checks it against meta/key_check,
// writing the check with the first secret in write transactions.
func (t *Tx) sealer() (*secret.Sealer, error) {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	if t.db.sealer != nil {
		return t.db.sealer, nil
	}
	if t.db.key == nil {
		return nil, ErrNoKey
	}
	meta := t.bucket(bucketMeta)
	check := meta.Get(keyKeyCheck)
	s, err := t.db.key(check == nil)
	if err != nil {
		if check != nil && errors.Is(err, secret.ErrNoKeyFile) {
			return nil, fmt.Errorf("%w, but the database holds sealed secrets: restore the key file from your backup or set NC_SECRET_KEY to the original key", err)
		}
		var bad *secret.BadKeyError
		if check != nil && errors.As(err, &bad) {
			// A key file emptied or garbled (a full disk, an editor): a new
			// key would not open what is sealed.
			where := bad.Where
			if where == "" {
				where = "NC_SECRET_KEY"
			}
			return nil, fault.Mark(fmt.Errorf("%s: %s, and the database holds secrets sealed with the original key, which no new key opens: "+
				"restore the key file from your backup, or set NC_SECRET_KEY to the original key", where, bad.Problem), fault.ErrConfig)
		}
		return nil, err
	}
	if check == nil {
		if !t.tx.Writable() {
			return s, nil // nothing sealed yet, so nothing to open
		}
		sealed, err := s.Seal(keyCheckPlain, keyCheckAAD)
		if err != nil {
			return nil, err
		}
		if err := meta.Put(keyKeyCheck, sealed); err != nil {
			return nil, fmt.Errorf("write key check: %w", err)
		}
	} else if plain, err := s.Open(check, keyCheckAAD); err != nil || !bytes.Equal(plain, keyCheckPlain) {
		return nil, fmt.Errorf("%w: NC_SECRET_KEY or the key file is not the one this database was sealed with; restore the original key", secret.ErrWrongKey)
	}
	// Cache only once the check is durable or verified; a rolled-back first
	// write leaves the next transaction to write the check again.
	if check != nil {
		t.db.sealer = s
	}
	return s, nil
}

func secretAAD(id, name string) []byte { return []byte(id + "/" + name) }

// PutSecret seals v and stores it as the connector's secret name.
func (t *Tx) PutSecret(id, name string, v secret.Value) error {
	s, err := t.sealer()
	if err != nil {
		return err
	}
	sealed, err := s.Seal(v.Reveal(), secretAAD(id, name))
	if err != nil {
		return err
	}
	b, err := t.nested(bucketSecrets, id, true)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(name), sealed); err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	return nil
}

// Secret opens the connector's secret name, or returns ErrNotFound.
func (t *Tx) Secret(id, name string) (secret.Value, error) {
	b, _ := t.nested(bucketSecrets, id, false)
	var sealed []byte
	if b != nil {
		sealed = b.Get([]byte(name))
	}
	if sealed == nil {
		return secret.Value{}, fmt.Errorf("secret %s of connector %s: %w", name, id, ErrNotFound)
	}
	s, err := t.sealer()
	if err != nil {
		return secret.Value{}, err
	}
	plain, err := s.Open(sealed, secretAAD(id, name))
	if err != nil {
		return secret.Value{}, fmt.Errorf("open secret %s of connector %s: %w", name, id, err)
	}
	return secret.New(plain), nil
}

// HasSecret reports whether the connector has the secret, without the key.
func (t *Tx) HasSecret(id, name string) bool {
	b, _ := t.nested(bucketSecrets, id, false)
	return b != nil && b.Get([]byte(name)) != nil
}

// DeleteSecret forgets the connector's secret name, if it has one: the
// secret of a way of signing in the connector no longer uses.
func (t *Tx) DeleteSecret(id, name string) error {
	b, _ := t.nested(bucketSecrets, id, false)
	if b == nil {
		return nil
	}
	if err := b.Delete([]byte(name)); err != nil {
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}

// CheckKey reports whether the database's sealed secrets open with its key
// (nil when none are sealed yet, without loading or creating a key).
func (t *Tx) CheckKey() error {
	if t.bucket(bucketMeta).Get(keyKeyCheck) == nil {
		return nil
	}
	_, err := t.sealer()
	return err
}
