package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (t *tree) listCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the connectors",
		Long:  "List the connectors with their type, server, schedule and URL. Secrets show as set or not set.",
		Args:  needArgs(0, "no arguments"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			views, err := t.s.backend.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(t.env.Stdout, views)
			}
			if len(views) == 0 {
				_, err := fmt.Fprintln(t.env.Stdout, "No connectors yet; add one with: neurons-connector connector add "+
					strings.ReplaceAll(t.env.Drivers.Specs().Names(), ", ", "|")+" --help")
				return err
			}
			tw := tabwriter.NewWriter(t.env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tSERVER\tACTIVE\tSCHEDULE\tURL")
			for _, v := range views {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Type, v.Server, yesNo(v.Active), v.Schedule, v.URL)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array on stdout")
	return declare(cmd, needsBackend)
}

func (t *tree) showCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one connector's options",
		Long:    "Show one connector's options. Secrets show as set or not set, never their value.",
		Example: `  neurons-connector connector show "Okta prod" --json`,
		Args:    needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			v, err := t.s.backend.Show(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(t.env.Stdout, v)
			}
			return writeDetails(t.env.Stdout, connectorDetails(t.env.Drivers.Specs(), v))
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object on stdout")
	return declare(cmd, needsBackend)
}
