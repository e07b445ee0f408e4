package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"neurons-connector/store"
)

func (a *app) listCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the connectors",
		Long:  "List the connectors with their type, server, schedule and URL. Secrets show as set or not set.",
		Args:  needArgs(0, "no arguments"),
		RunE: action(func(*cobra.Command, []string) error {
			views := []connectorView{}
			err := a.view(func(tx *store.Tx) error {
				if tx == nil {
					return nil
				}
				all, err := tx.Connectors()
				for _, c := range all {
					views = append(views, newConnectorView(tx, c))
				}
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, views)
			}
			if len(views) == 0 {
				_, err := fmt.Fprintln(a.stdout, "No connectors yet; add one with: neurons-connector connector add okta|onelogin --help")
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tSERVER\tACTIVE\tSCHEDULE\tURL")
			for _, v := range views {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Type, v.Server, yesNo(v.Active), v.Schedule, v.URL)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array on stdout")
	return cmd
}

func (a *app) showCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one connector's options",
		Long:    "Show one connector's options. Secrets show as set or not set, never their value.",
		Example: `  neurons-connector connector show "Okta prod" --json`,
		Args:    needArgs(1, "the connector's NAME"),
		RunE: action(func(_ *cobra.Command, args []string) error {
			var v connectorView
			err := a.view(func(tx *store.Tx) error {
				c, err := findConnector(tx, args[0])
				if err == nil {
					v = newConnectorView(tx, c)
				}
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, v)
			}
			return writeDetails(a.stdout, v.details())
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object on stdout")
	return cmd
}
