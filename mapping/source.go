package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
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
		if name != "" {
			candidates = []string{name + ".csv", string(kind) + ".csv"}
		}
		for _, file := range candidates {
			if _, err := fs.Stat(s.Overrides, file); err == nil {
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
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("mapping override %s: %w", file, err)
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
