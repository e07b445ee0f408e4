package mapping_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"neurons-connector/mapping"
)

// FuzzParse feeds arbitrary bytes to the loader: it must never panic, and a
// table it accepts must export to CSV that loads back to the same table.
// Seeds: the default tables and every check fixture (testdata/mapping/check),
// plus the corpus under testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"../mappings", checkDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	cat := builtinSource(f).Catalog
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range specs {
			table, err := mapping.Parse(cat, k, "fuzz.csv", data)
			if err != nil {
				continue
			}
			var buf bytes.Buffer
			if err := table.Export(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := mapping.Parse(cat, k, "export.csv", buf.Bytes())
			if err != nil {
				t.Fatalf("accepted table does not load after export: %v\ninput %q\nexport %q", err, data, buf.Bytes())
			}
			if back.Hash() != table.Hash() {
				t.Fatalf("export changed the table\ninput %q\nexport %q", data, buf.Bytes())
			}
			table.Apply(map[string]any{"profile": map[string]any{"a": "b"}, "status": "ACTIVE"}, nil)
		}
	})
}
