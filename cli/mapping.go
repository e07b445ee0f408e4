package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/connector"
	"neurons-connector/mapping"
)

func (t *tree) mappingCmd() *cobra.Command {
	return group("mapping", "Export and check the CSV mapping tables", t.mappingExportCmd(), t.mappingCheckCmd())
}

func (t *tree) mappingExportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export okta|onelogin|NAME [-o FILE]",
		Short: "Write the effective mapping table as CSV",
		Long: `Write the effective mapping table (the "mapping overview") as CSV: for a type, the
table its connectors use (NC_MAPPINGS_DIR/<type>.csv, else the built-in one); for
a connector NAME, its own (NC_MAPPINGS_DIR/<NAME>.csv, else its type's). Edit the
output in a spreadsheet, check it with "mapping check", and put it in
NC_MAPPINGS_DIR to use it.`,
		Example: `  neurons-connector mapping export okta -o okta.csv
  neurons-connector mapping export "Okta prod" > "Okta prod.csv"`,
		Args: needArgs(1, "okta, onelogin or a connector's NAME"),
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
		Use:   "check FILE [--type okta|onelogin]",
		Short: "Check an edited mapping table and list every problem",
		Long: `Check a mapping table and print every problem as FILE:LINE: message, then exit
with code 2; a good table prints a summary and exits 0. The table's type comes
from --type, else from its file name (okta.csv, onelogin.csv or a connector's
NAME.csv), else from its content.`,
		Example: `  neurons-connector mapping check okta.csv
  neurons-connector mapping check ~/Downloads/mapping.csv --type onelogin`,
		Args: needArgs(1, "the FILE to check"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			file := args[0]
			data, err := os.ReadFile(file)
			if err != nil {
				return usagef("cannot read %s: %v", file, unwrapPath(err))
			}
			cat, err := mapping.LoadCatalog(t.env.Tables, mapping.CatalogFile)
			if err != nil {
				return err
			}
			kind, err := t.checkKind(cmd, typ, file, cat, data)
			if err != nil {
				return err
			}
			table, err := mapping.Parse(cat, kind, file, data)
			var ps mapping.Problems
			if errors.As(err, &ps) {
				// Compiler style: one FILE:LINE: message per line, then a summary.
				fmt.Fprintln(t.env.Stderr, ps.Error())
				return usagef("%d %s in %s (checked as type %s); fix them and check again", len(ps), plural(len(ps), "problem"), file, kind)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(t.env.Stdout, "%s: OK, %d rows (type %s)\n", file, len(table.Rows()), kind)
			return err
		}),
	}
	cmd.Flags().StringVar(&typ, "type", "", "the table's connector type: okta or onelogin")
	return declare(cmd, needsHint)
}

// checkKind decides which provider a table is for: --type, the file name,
// a connector of that name, or the only kind the content loads as.
func (t *tree) checkKind(cmd *cobra.Command, typ, file string, cat *mapping.Catalog, data []byte) (connector.Kind, error) {
	if cmd.Flags().Changed("type") {
		k, err := connector.ParseKind(typ)
		if err != nil {
			return "", usagef("--type: %v", err)
		}
		return k, nil
	}
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if k, err := connector.ParseKind(base); err == nil {
		return k, nil
	}
	if b := t.s.backend; b != nil { // the connectors are only a hint here
		if c, err := b.Show(cmd.Context(), base); err == nil {
			return connector.Kind(c.Type), nil
		}
	}
	var fits []connector.Kind
	for _, k := range connector.Kinds {
		if _, err := mapping.Parse(cat, k, file, data); err == nil {
			fits = append(fits, k)
		}
	}
	if len(fits) == 1 {
		return fits[0], nil
	}
	// Neither or both: the sources decide (profile.* is Okta's, the rest OneLogin's).
	if bytes.Contains(data, []byte("profile.")) || bytes.Contains(data, []byte("Application.Okta.")) {
		return connector.Okta, nil
	}
	if bytes.Contains(data, []byte("Application.OneLogin.")) || bytes.Contains(data, []byte("custom_attributes")) {
		return connector.OneLogin, nil
	}
	return "", usagef("cannot tell whether %s is an okta or a onelogin table; give --type okta or --type onelogin", file)
}

// writeFileAtomic writes to a temporary file beside path and renames it, so
// a reader never sees half a table.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
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
	if n == 1 {
		return word
	}
	return word + "s"
}
