package mapping_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"neurons-connector/mapping"

	"neurons-connector/connector"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
)

var update = flag.Bool("update", false, "rewrite the expected.json files of testdata/mapping")

const caseDir = "../testdata/mapping"

// specs are the real providers' specs: the built-in tables are checked
// against the records they declare.
var specs = connector.Specs{okta.Spec, onelogin.Spec}

// mapDir is a Directory read from a case's directory.json.
type mapDir map[string]mapping.Contact

func (d mapDir) Contact(id string) (mapping.Contact, bool) { c, ok := d[id]; return c, ok }

func builtinSource(t testing.TB) *mapping.Source {
	t.Helper()
	src, err := mapping.NewSource(specs, os.DirFS("../mappings"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestGolden maps each case's user.json with its table.csv (or the built-in
// table of the kind its name starts with) and compares the record with
// expected.json. Run with -update to accept new output after checking it.
func TestGolden(t *testing.T) {
	src := builtinSource(t)
	entries, err := os.ReadDir(caseDir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(caseDir, e.Name(), "user.json")); err != nil {
			continue // reference objects and check fixtures, not golden cases
		}
		ran++
		t.Run(e.Name(), func(t *testing.T) {
			dir := filepath.Join(caseDir, e.Name())
			spec := okta.Spec
			if strings.HasPrefix(e.Name(), "onelogin") {
				spec = onelogin.Spec
			}
			table, err := mapping.Load(src.Catalog, spec, os.DirFS(dir), "table.csv")
			if os.IsNotExist(unwrapAll(err)) {
				table, err = src.Load(spec.Kind, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			var user map[string]any
			readJSON(t, filepath.Join(dir, "user.json"), &user)
			var d mapDir
			readJSON(t, filepath.Join(dir, "directory.json"), &d)
			got, err := json.MarshalIndent(table.Apply(user, d), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			want := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test ./mapping -update to create it)", err)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("record differs from %s:\ngot:\n%s", want, got)
			}
		})
	}
	if ran < 5 {
		t.Fatalf("only %d golden cases found", ran)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
