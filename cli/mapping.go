package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"neurons-connector/internal/robustio"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/connector"
	"neurons-connector/mapping"
)

func (t *tree) mappingCmd() *cobra.Command {
	return group("mapping", "Export, check and preview the CSV mapping tables", t.mappingExportCmd(), t.mappingCheckCmd(),
		t.mappingPreviewCmd())
}

func (t *tree) mappingExportCmd() *cobra.Command {
	var out string
	types := t.env.Drivers.Specs().Names()
	cmd := &cobra.Command{
		Use:   "export " + strings.ReplaceAll(types, ", ", "|") + "|NAME [-o FILE]",
		Short: "Write the effective mapping table as CSV",
		Long: `Write the effective mapping table (the "mapping overview") as CSV: for a type, the
table its connectors use (NC_MAPPINGS_DIR/<type>.csv, else the built-in one); for
a connector NAME, its own (NC_MAPPINGS_DIR/<NAME>.csv, else its type's). Edit the
output in a spreadsheet, check it with "mapping check", and put it in
NC_MAPPINGS_DIR to use it.`,
		Example: `  neurons-connector mapping export okta -o okta.csv
  neurons-connector mapping export "Okta prod" > "Okta prod.csv"`,
		Args: needArgs(1, "a connector type ("+types+") or a connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			table, err := t.s.backend.Export(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out == "" {
				_, err = t.env.Stdout.Write(table.CSV)
				return err
			}
			// Written here, by this user, never by the daemon.
			if err := writeFileAtomic(out, table.CSV, 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(t.env.Stdout, "Wrote the %s table from %s (%d rows) to %s.\n", table.Kind, table.File, table.Rows, out)
			return err
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` instead of standard output")
	return declare(cmd, needsBackend)
}

func (t *tree) mappingCheckCmd() *cobra.Command {
	var typ string
	cmd := &cobra.Command{
		Use:   "check FILE [--type TYPE]",
		Short: "Check an edited mapping table and list every problem",
		Long: `Check a mapping table and print every problem as FILE:LINE: message, then exit
with code 2; a good table prints a summary and exits 0. The table's type comes
from --type, else from its file name (TYPE.csv, such as okta.csv, or a
connector's NAME.csv), else from its content.`,
		Example: `  neurons-connector mapping check okta.csv
  neurons-connector mapping check ~/Downloads/mapping.csv --type onelogin`,
		Args: needArgs(1, "the FILE to check"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			file := args[0]
			data, err := readTableFile(file)
			if err != nil {
				return err
			}
			cat, err := mapping.LoadCatalog(t.env.Tables, mapping.CatalogFile)
			if err != nil {
				return err
			}
			sp, err := t.checkKind(cmd, typ, file, cat, data)
			if err != nil {
				return err
			}
			kind := sp.Kind
			table, err := mapping.Parse(cat, sp, file, data)
			var ps mapping.Problems
			if errors.As(err, &ps) {
				// Compiler style: one FILE:LINE: message per line, then a summary.
				fmt.Fprintln(t.env.Stderr, ps.Error())
				return usagef("%d %s in %s (checked as type %s); fix them and check again", ps.Count(), plural(ps.Count(), "problem"), file, kind)
			}
			if err != nil {
				return err
			}
			for _, w := range table.Warnings() {
				fmt.Fprintln(t.env.Stderr, w)
			}
			_, err = fmt.Fprintf(t.env.Stdout, "%s: OK, %d rows (type %s)\n", file, len(table.Rows()), kind)
			return err
		}),
	}
	cmd.Flags().StringVar(&typ, "type", "", "the table's connector type: "+t.env.Drivers.Specs().Names())
	return declare(cmd, needsHint)
}

// readTableFile reads a mapping table an admin names, with the limits of
// mapping.ReadTable; its error is bad input.
func readTableFile(file string) ([]byte, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, usagef("cannot read %s: %v", file, err)
	}
	data, err := mapping.ReadTable(os.DirFS(filepath.Dir(abs)), filepath.Base(abs))
	if err != nil {
		return nil, usagef("cannot read %s: %v", file, unwrapPath(err))
	}
	return data, nil
}

// checkKind decides which provider a table is for: --type, the file name,
// a connector of that name, or the only kind the content loads as.
func (t *tree) checkKind(cmd *cobra.Command, typ, file string, cat *mapping.Catalog, data []byte) (*connector.Spec, error) {
	specs := t.env.Drivers.Specs()
	if cmd.Flags().Changed("type") {
		sp, err := specs.Parse(typ)
		if err != nil {
			return nil, usagef("--type: %v", err)
		}
		return sp, nil
	}
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if sp, err := specs.Parse(base); err == nil {
		return sp, nil
	}
	if b := t.s.backend; b != nil { // the connectors are only a hint here
		if c, err := b.Show(cmd.Context(), base); err == nil {
			if sp, ok := specs.Find(connector.Kind(c.Type)); ok {
				return sp, nil
			}
		}
	}
	var fits []*connector.Spec
	var firstErr error // the first kind's problems, when it does not fit
	for i, sp := range specs {
		_, err := mapping.Parse(cat, sp, file, data)
		if err == nil {
			fits = append(fits, sp)
		} else if i == 0 {
			firstErr = err
		}
	}
	if len(fits) == 1 {
		return fits[0], nil
	}
	// Neither or several: the kind whose own targets or free-form fields
	// (Okta's profile.*, OneLogin's custom_attributes) the table names.
	for _, sp := range specs {
		if bytes.Contains(data, []byte(sp.Record.App)) {
			return sp, nil
		}
		for _, open := range sp.Record.Open {
			if bytes.Contains(data, []byte(open+".")) {
				return sp, nil
			}
		}
	}
	// A file no kind can read (UTF-16, another code page, no header) says
	// so, rather than that its kind is unknown: --type would not help.
	var ps mapping.Problems
	if errors.As(firstErr, &ps) && len(ps) > 0 && ps[0].Line <= 1 {
		fmt.Fprintln(t.env.Stderr, ps.Error())
		return nil, usagef("%d %s in %s; fix them and check again", ps.Count(), plural(ps.Count(), "problem"), file)
	}
	return nil, usagef("cannot tell which connector type %s is for; give --type (%s)", file, specs.Names())
}

// writeFileAtomic writes to a temporary file beside path and renames it, so
// a reader never sees half a table.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	return writeAtomic(path, mode, func(f *os.File) error {
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

// writeAtomic has fill write a temporary file beside path, then gives it
// mode, syncs it and renames it to path, so that path never holds half a
// file; on any failure the temporary file is removed. fill's errors come
// back as they are, the file's own wrapped with path.
func writeAtomic(path string, mode os.FileMode, fill func(f *os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename there is nothing left to remove
	if err := fill(tmp); err != nil {
		_ = tmp.Close()
		return err
	}
	err = tmp.Chmod(mode)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = robustio.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func plural(n int, word string) string {
	switch {
	case n == 1:
		return word
	case strings.HasSuffix(word, "ch"):
		return word + "es" // batch
	}
	return word + "s"
}

// count is n with its noun: "1 user read", "2 users read".
func count(n int, noun string) string { return fmt.Sprintf("%d %s", n, plural(n, noun)) }
