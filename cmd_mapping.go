package main

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
	"neurons-connector/store"
)

func (a *app) mappingCmd() *cobra.Command {
	return group("mapping", "Export and check the CSV mapping tables", a.mappingExportCmd(), a.mappingCheckCmd())
}

// mappingSource is the built-in tables with NC_MAPPINGS_DIR's overrides.
func (a *app) mappingSource() (*mapping.Source, error) {
	src, err := mapping.NewSource(a.mappings, nil)
	if err == nil && a.cfg.MappingsDir != "" {
		src.Overrides, src.OverridesDir = os.DirFS(a.cfg.MappingsDir), a.cfg.MappingsDir
	}
	return src, err
}

func (a *app) mappingExportCmd() *cobra.Command {
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
		RunE: action(func(_ *cobra.Command, args []string) error {
			src, err := a.mappingSource()
			if err != nil {
				return err
			}
			kind, name, err := a.exportTarget(args[0])
			if err != nil {
				return err
			}
			table, err := src.Load(kind, name)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			var buf bytes.Buffer
			if err := table.Export(&buf); err != nil {
				return err
			}
			if out == "" {
				_, err = a.stdout.Write(buf.Bytes())
				return err
			}
			if err := writeFileAtomic(out, buf.Bytes(), 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Wrote the %s table from %s (%d rows) to %s.\n", kind, table.File, len(table.Rows()), out)
			return err
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` instead of standard output")
	return cmd
}

// exportTarget resolves "okta", "onelogin" or a connector name.
func (a *app) exportTarget(arg string) (connector.Kind, string, error) {
	if k, err := connector.ParseKind(arg); err == nil {
		return k, "", nil
	}
	var c connector.Config
	err := a.view(func(tx *store.Tx) error {
		var err error
		c, err = findConnector(tx, arg)
		return err
	})
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.code == 2 {
			return "", "", usagef("%q is neither okta, onelogin nor a connector's name; see the names with: neurons-connector connector list", arg)
		}
		return "", "", err
	}
	return c.Kind, c.Name, nil
}

func (a *app) mappingCheckCmd() *cobra.Command {
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
			src, err := a.mappingSource()
			if err != nil {
				return err
			}
			kind, err := a.checkKind(cmd, typ, file, src.Catalog, data)
			if err != nil {
				return err
			}
			table, err := mapping.Parse(src.Catalog, kind, file, data)
			var ps mapping.Problems
			if errors.As(err, &ps) {
				// Compiler style: one FILE:LINE: message per line, then a summary.
				fmt.Fprintln(a.stderr, ps.Error())
				return usagef("%d %s in %s (checked as type %s); fix them and check again", len(ps), plural(len(ps), "problem"), file, kind)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "%s: OK, %d rows (type %s)\n", file, len(table.Rows()), kind)
			return err
		}),
	}
	cmd.Flags().StringVar(&typ, "type", "", "the table's connector type: okta or onelogin")
	return cmd
}

// checkKind decides which provider a table is for: --type, the file name,
// a connector of that name, or the only kind the content loads as.
func (a *app) checkKind(cmd *cobra.Command, typ, file string, cat *mapping.Catalog, data []byte) (connector.Kind, error) {
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
	var named *connector.Config
	_ = a.view(func(tx *store.Tx) error {
		if tx != nil {
			if c, err := tx.ConnectorByName(base); err == nil {
				named = &c
			}
		}
		return nil // the database is only a hint here
	})
	if named != nil {
		return named.Kind, nil
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
