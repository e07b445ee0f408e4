package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/api"
	"neurons-connector/connector"
	"neurons-connector/local"
	"neurons-connector/mapping"
)

func (t *tree) mappingPreviewCmd() *cobra.Command {
	var users int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "preview FILE NAME [--users N] [--json]",
		Short: "Show what an edited mapping table would change for a few live users",
		Long: fmt.Sprintf(`Apply an edited mapping table to a few users of connector NAME, read from its
provider now (default %d, taken in turn from each of its selected statuses; Okta
also reads their apps and devices when a table maps them), beside the table in
force, and print only the targets that would change, user by user. A table with
problems is reported as "mapping check" reports it (exit 2). Nothing is changed:
the table takes effect once copied into NC_MAPPINGS_DIR (as NAME.csv or TYPE.csv).
The calls are paced like a run's; it works while the service runs.`, local.DefaultPreviewUsers),
		Example: `  neurons-connector mapping export "Okta prod" -o okta.csv    # then edit okta.csv
  neurons-connector mapping preview okta.csv "Okta prod"
  neurons-connector mapping preview okta.csv "Okta prod" --users 100 --json`,
		Args: needArgs(2, "the edited table's FILE and the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			file, name := args[0], args[1]
			if users < 1 || users > local.MaxPreviewUsers {
				return usagef("--users must be from 1 to %d (got %d)", local.MaxPreviewUsers, users)
			}
			data, err := readTableFile(file)
			if err != nil {
				return err
			}
			c, err := t.s.backend.Show(cmd.Context(), name)
			if err != nil {
				return err
			}
			if err := t.checkTable(file, data, connector.Kind(c.Type)); err != nil {
				return err
			}
			p, err := t.s.backend.Preview(cmd.Context(), api.PreviewRequest{Name: name, File: file, CSV: data, Users: users})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(t.env.Stdout, p)
			}
			return writePreview(t.env.Stdout, p)
		}),
	}
	cmd.Flags().IntVar(&users, "users", local.DefaultPreviewUsers, fmt.Sprintf("how many users to read (1-%d)", local.MaxPreviewUsers))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the preview as JSON")
	return declare(cmd, needsBackend)
}

// checkTable reports an edited table's problems as mapping check does:
// one FILE:LINE: message per line on stderr, then a summary (exit 2).
func (t *tree) checkTable(file string, data []byte, kind connector.Kind) error {
	sp, ok := t.env.Drivers.Specs().Find(kind)
	if !ok {
		return nil // a kind this version does not know: the backend says so
	}
	cat, err := mapping.LoadCatalog(t.env.Tables, mapping.CatalogFile)
	if err != nil {
		return err
	}
	_, err = mapping.Parse(cat, sp, file, data)
	var ps mapping.Problems
	if errors.As(err, &ps) {
		fmt.Fprintln(t.env.Stderr, ps.Error())
		return usagef("%d %s in %s (checked as type %s); fix them, then preview again", ps.Count(), plural(ps.Count(), "problem"), file, kind)
	}
	return err
}

// writePreview prints a preview for people.
func writePreview(w io.Writer, p api.Preview) error {
	fmt.Fprintf(w, "Preview of %s for %q against the table in force, %s: %s read (%s).\n",
		p.File, p.Connector, p.InForce, count(p.Read, "user"), strings.Join(p.Statuses, ", "))
	for _, u := range p.Changed {
		label := u.Status
		if u.Label != "" {
			label = u.Label + ", " + u.Status
		}
		fmt.Fprintf(w, "\n%s (%s)\n", u.SourceID, label)
		for _, ch := range u.Changes {
			fmt.Fprintf(w, "  %s: %s -> %s\n", ch.Target, valueText(ch.Before), valueText(ch.After))
		}
	}
	switch n := len(p.Changed); {
	case p.Read == 0:
		_, err := fmt.Fprintln(w, "\nNo user of the selected statuses was found; nothing to compare.")
		return err
	case n == 0:
		_, err := fmt.Fprintf(w, "\nNo target of the %s read would change. Nothing was changed.\n", count(p.Read, "user"))
		return err
	default:
		_, err := fmt.Fprintf(w, "\n%d of %s read would change. Nothing was changed; the table takes effect once copied into NC_MAPPINGS_DIR.\n", n, count(p.Read, "user"))
		return err
	}
}

// valueText is a target's JSON value as printed: (none) when absent.
func valueText(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return "(none)"
	}
	return string(v)
}
