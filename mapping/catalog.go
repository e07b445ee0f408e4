// Package mapping owns the CSV mapping tables that turn a provider's user
// into Neurons target attributes: loading and checking them (every problem
// reported at once as FILE:LINE), the transform set, applying a table to one
// raw user, and exporting a table back to CSV. It reads files only through an
// fs.FS and never calls a provider: a manager's contact details come from a
// Directory the engine supplies.
package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"neurons-connector/internal/nearest"
	"strings"
)

// Kind is the type of a target attribute's value.
type Kind string

// The kinds of target attributes in targets.csv.
const (
	KindString    Kind = "string"
	KindTimestamp Kind = "timestamp"
	KindInteger   Kind = "integer"
	KindBoolean   Kind = "boolean"
	KindList      Kind = "list"
)

// Target is one attribute of the Neurons user schema.
type Target struct {
	Name        string `csv:"name"`
	Kind        Kind   `csv:"kind"`
	Description string `csv:"description"`
}

// Catalog is the set of known target attributes (mappings/targets.csv).
type Catalog struct {
	byName map[string]Target
	names  []string
}

// CatalogFile is the catalog's file name beside the default tables.
const CatalogFile = "targets.csv"

// LoadCatalog reads the catalog from fsys.
func LoadCatalog(fsys fs.FS, name string) (*Catalog, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read target catalog: %w", err)
	}
	var rows []Target
	problems := readCSV(name, data, []string{"name", "kind", "description"}, func(_ int, v any) []string {
		t := *(v.(*Target))
		rows = append(rows, t)
		var msgs []string
		if !strings.HasPrefix(t.Name, "User.") || len(t.Name) <= len("User.") {
			msgs = append(msgs, fmt.Sprintf("target %q must be a User.* name", t.Name))
		}
		switch t.Kind {
		case KindString, KindTimestamp, KindInteger, KindBoolean, KindList:
		default:
			msgs = append(msgs, fmt.Sprintf("kind %q is not one of string, timestamp, integer, boolean, list", t.Kind))
		}
		return msgs
	}, &Target{})
	if len(problems) > 0 {
		return nil, problems
	}
	c := &Catalog{byName: make(map[string]Target, len(rows))}
	for _, t := range rows {
		if _, dup := c.byName[t.Name]; dup {
			return nil, fmt.Errorf("%s: duplicate target %s", name, t.Name)
		}
		c.byName[t.Name] = t
		c.names = append(c.names, t.Name)
	}
	if len(rows) == 0 {
		return nil, errors.New(name + ": the catalog is empty")
	}
	return c, nil
}

// Lookup returns the target named name.
func (c *Catalog) Lookup(name string) (Target, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// closest suggests the catalog name nearest to a mistyped one.
func (c *Catalog) closest(name string) string {
	return nearest.Name(name, c.names, len(name)/3+1)
}
