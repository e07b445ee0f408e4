package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"neurons-connector/connector"
)

// Source finds the effective table of a connector: NC_MAPPINGS_DIR's
// <connector-name>.csv, else its <type>.csv, else the built-in <type>.csv.
type Source struct {
	Catalog   *Catalog
	Specs     connector.Specs // the kinds whose tables it loads
	Builtin   fs.FS           // the embedded mappings/ folder
	Overrides fs.FS           // NC_MAPPINGS_DIR, or nil
	// OverridesDir is the folder Overrides reads, for messages.
	OverridesDir string
	// Trust vets an override (its path in OverridesDir) before it is
	// read, if set: a table decides what every user's record says, so the
	// program reads one only if nobody but the admins may have written it
	// (private.Check).
	Trust func(path string) error
}

// NewSource loads the catalog from builtin and returns a Source of the
// tables of specs.
func NewSource(specs connector.Specs, builtin, overrides fs.FS) (*Source, error) {
	cat, err := LoadCatalog(builtin, CatalogFile)
	if err != nil {
		return nil, err
	}
	return &Source{Catalog: cat, Specs: specs, Builtin: builtin, Overrides: overrides}, nil
}

// Load reads the effective table for a connector of kind named name (empty
// name: the table for the kind).
func (s *Source) Load(kind connector.Kind, name string) (*Table, error) {
	spec, ok := s.Specs.Find(kind)
	if !ok {
		return nil, fmt.Errorf("no mapping table for connector type %q; valid: %s", kind, s.Specs.Names())
	}
	if s.Overrides != nil {
		candidates := []string{string(kind) + ".csv"}
		if name != "" && !s.typeName(name) {
			candidates = []string{name + ".csv", string(kind) + ".csv"}
		}
		for _, want := range candidates {
			file, err := s.override(want)
			if err != nil {
				return nil, err
			}
			if file != "" {
				shown := filepath.Join(s.OverridesDir, file)
				if s.Trust != nil {
					if err := s.Trust(shown); err != nil {
						return nil, fmt.Errorf("the mapping override %s is not used: %w", shown, err)
					}
				}
				t, err := Load(s.Catalog, spec, s.Overrides, file)
				var ps Problems
				if errors.As(err, &ps) {
					for i := range ps {
						ps[i].File = shown
					}
				}
				if err != nil {
					return nil, fmt.Errorf("the mapping override %s does not load:\n%w", shown, err)
				}
				t.File = shown
				return t, nil
			}
		}
	}
	t, err := Load(s.Catalog, spec, s.Builtin, string(kind)+".csv")
	if err != nil {
		return nil, fmt.Errorf("the built-in mapping table does not load:\n%w", err)
	}
	t.File += " (built in)"
	return t, nil
}

// Keeper remembers each connector's last good table, so that an edited
// override that fails to load never replaces a working one.
type Keeper struct {
	src  *Source
	mu   sync.Mutex
	last map[string]*Table
}

// NewKeeper returns a Keeper reading from src.
func NewKeeper(src *Source) *Keeper { return &Keeper{src: src, last: map[string]*Table{}} }

// Table returns the connector's table. If the current files fail to load,
// it returns the last good table together with the load error, which the
// run reports; with no good table yet it returns only the error.
func (k *Keeper) Table(kind connector.Kind, id, name string) (*Table, error) {
	t, err := k.src.Load(kind, name)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		return k.last[id], err
	}
	k.last[id] = t
	return t, nil
}

// OwnTable returns the path of the connector named name's own table in
// NC_MAPPINGS_DIR (<name>.csv), or "" when it has none: a rename must not
// leave it behind (the connector would fall back to its type's table).
func (s *Source) OwnTable(name string) (string, error) {
	if s.Overrides == nil || s.typeName(name) {
		return "", nil
	}
	file, err := s.override(name + ".csv")
	if file == "" || err != nil {
		return "", err
	}
	return filepath.Join(s.OverridesDir, file), nil
}

// typeName reports whether a connector's name is a type's, in any case: its
// own table would be that type's table (okta.csv), which is no connector's
// own, and for a connector of another type not even its kind's (an Okta
// connector named "OneLogin" is not mapped with onelogin.csv).
func (s *Source) typeName(name string) bool {
	_, err := s.Specs.Parse(name)
	return err == nil
}

// override finds the file named want in Overrides without regard to case,
// as connector names are matched ("okta prod.csv" is the table of "Okta
// prod", on Linux too, where it was passed over without a word). The
// exact name wins; without it, several files that differ only in case are
// an error, since any might be the one meant; none is "".
func (s *Source) override(want string) (string, error) {
	if _, err := fs.Stat(s.Overrides, want); err == nil {
		return want, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("mapping override %s: %w", want, err)
	}
	entries, err := fs.ReadDir(s.Overrides, ".")
	if err != nil {
		return "", fmt.Errorf("mapping overrides %s: %w", s.OverridesDir, err)
	}
	var found []string
	for _, e := range entries {
		if connector.FoldName(e.Name()) == connector.FoldName(want) {
			found = append(found, e.Name())
		}
	}
	if len(found) > 1 {
		return "", fmt.Errorf("the mapping overrides %s hold %s, which differ only in case and name the same table %q: keep one",
			s.OverridesDir, strings.Join(found, " and "), want)
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}
