package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"neurons-connector/connector"
)

// NameTakenError means another connector already has the name (names are
// compared without regard to case).
type NameTakenError struct{ Name, Existing string }

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("a connector named %q already exists; choose another name", e.Existing)
}

// Connectors returns every connector, sorted by name.
func (t *Tx) Connectors() ([]connector.Config, error) {
	var out []connector.Config
	err := t.bucket(bucketConnectors).ForEach(func(k, v []byte) error {
		var c connector.Config
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode connector %s: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
	})
	return out, err
}

// Connector returns the connector with id, or ErrNotFound.
func (t *Tx) Connector(id string) (connector.Config, error) {
	v := t.bucket(bucketConnectors).Get([]byte(id))
	if v == nil {
		return connector.Config{}, fmt.Errorf("connector %s: %w", id, ErrNotFound)
	}
	var c connector.Config
	if err := json.Unmarshal(v, &c); err != nil {
		return c, fmt.Errorf("decode connector %s: %w", id, err)
	}
	return c, nil
}

// ConnectorByName finds a connector by name, ignoring case, or ErrNotFound.
func (t *Tx) ConnectorByName(name string) (connector.Config, error) {
	id := t.bucket(bucketNames).Get([]byte(connector.FoldName(name)))
	if id == nil {
		return connector.Config{}, fmt.Errorf("connector %q: %w", name, ErrNotFound)
	}
	return t.Connector(string(id))
}

// PutConnector creates or replaces c, keeping names unique. A renamed
// connector frees its old name.
func (t *Tx) PutConnector(c connector.Config) error {
	names := t.bucket(bucketNames)
	folded := []byte(connector.FoldName(c.Name))
	if owner := names.Get(folded); owner != nil && string(owner) != c.ID {
		existing, err := t.Connector(string(owner))
		if err != nil {
			return err
		}
		return &NameTakenError{Name: c.Name, Existing: existing.Name}
	}
	if old, err := t.Connector(c.ID); err == nil && connector.FoldName(old.Name) != string(folded) {
		if err := names.Delete([]byte(connector.FoldName(old.Name))); err != nil {
			return err
		}
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode connector: %w", err)
	}
	if err := names.Put(folded, []byte(c.ID)); err != nil {
		return fmt.Errorf("index connector name: %w", err)
	}
	if err := t.bucket(bucketConnectors).Put([]byte(c.ID), data); err != nil {
		return fmt.Errorf("write connector: %w", err)
	}
	return nil
}

// DeleteConnector removes the connector and everything kept for it:
// secrets, cursor, snapshot, outbox and run history.
func (t *Tx) DeleteConnector(id string) error {
	c, err := t.Connector(id)
	if err != nil {
		return err
	}
	if err := t.bucket(bucketNames).Delete([]byte(connector.FoldName(c.Name))); err != nil {
		return err
	}
	if err := t.bucket(bucketConnectors).Delete([]byte(id)); err != nil {
		return err
	}
	if err := t.ClearRejection(id); err != nil {
		return err
	}
	if err := t.bucket(bucketState).Delete(shortfallKey(id)); err != nil {
		return err
	}
	if err := t.forgetFormerSinks(id); err != nil {
		return err
	}
	for _, top := range perConnector {
		if b := t.bucket(top); b.Bucket([]byte(id)) != nil {
			err = t.deleteNested(top, id)
		} else {
			err = b.Delete([]byte(id))
		}
		if err != nil {
			return fmt.Errorf("delete %s of connector %s: %w", top, id, err)
		}
	}
	return nil
}
