package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/api"
	"neurons-connector/connector"
)

func (t *tree) connectorCmd() *cobra.Command {
	specs := t.env.Drivers.Specs()
	var adds []*cobra.Command
	var titles []string
	for _, sp := range specs {
		adds = append(adds, t.addCmd(specs, sp))
		titles = append(titles, sp.Title)
	}
	add := group("add", "Add a connector: "+strings.Join(titles, " or "), adds...)
	add.Use = "add " + strings.ReplaceAll(specs.Names(), ", ", "|") + " [options]"
	add.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		_, err := specs.Parse(args[0])
		return usagef("%v", err)
	}
	return group("connector", "Add, change, list, show and remove connectors",
		add, t.editCmd(specs), t.listCmd(), t.showCmd(), t.removeCmd(), t.testCmd())
}

// addExample is a complete add command line for sp, built from the
// examples its options give; one per way of signing in.
func addExample(sp *connector.Spec) string {
	var lines []string
	for _, a := range sp.Auth {
		line := fmt.Sprintf("  neurons-connector connector add %s --name %q", sp.Kind, sp.Title+" prod")
		for _, o := range sp.Options {
			line += fmt.Sprintf(" --%s %s", o.Flag, o.Example)
		}
		if a.Name != "" && a.Name != sp.Auth[0].Name {
			line += " \\\n      --auth " + a.Name
			for _, o := range a.Options {
				line += fmt.Sprintf(" --%s %s", o.Flag, o.Example)
			}
		}
		lines = append(lines, line+fmt.Sprintf(" \\\n      --%s /etc/neurons-connector/%s-%s --user-status %s --repeats hourly",
			a.Secret.Flags()[1], sp.Kind, a.Secret.Flag, sp.DefaultStatus))
	}
	return strings.Join(lines, "\n")
}

func (t *tree) addCmd(specs connector.Specs, sp *connector.Spec) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   string(sp.Kind) + " --name NAME [options]",
		Short: "Add " + sp.Record.Article + " connector",
		Long: "Add " + sp.Record.Article + ` connector. The secret is read once, from an environment variable, a file
or standard input, and stored sealed in the database; the variable or file is
not needed afterwards. Options left out take the defaults shown.`,
		Example: addExample(sp),
		Args:    needArgs(0, "no arguments besides options"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			ch, err := o.changes(fs)
			if err != nil {
				return err
			}
			if missing := ch.Required(sp); missing != "" {
				return usagef("%s", missing)
			}
			sec, auth, err := t.readSecret(fs, &o, sp)
			if err != nil {
				return err
			}
			if auth == nil {
				return needSecret(sp, o.auth)
			}
			c, err := t.s.backend.Add(cmd.Context(), api.AddRequest{Kind: sp.Kind, Changes: ch, Secret: sec.Reveal(),
				SecretFlag: auth.Secret.Flag})
			if err != nil {
				return err
			}
			if _, err = fmt.Fprintf(t.env.Stdout, "Added %s connector %q (id %s); it runs %s.\n", sp.Kind, c.Name, c.ID, runsWhen(c)); err != nil {
				return err
			}
			t.sameTenant(cmd.Context(), c)
			return nil
		}),
	}
	o.bind(cmd.Flags(), sp)
	// Another kind's flag (Okta's --url on a OneLogin connector, whose
	// tenant is --domain) is named as such, with what this kind takes.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if flag, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok {
			if why := specs.ForeignFlag(sp, flag); why != "" {
				return usagef("%s; see: %s --help", why, c.CommandPath())
			}
		}
		return usagef("%v; see: %s --help", err, c.CommandPath())
	})
	return declare(cmd, needsBackend)
}

func (t *tree) editCmd(specs connector.Specs) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "edit NAME [options]",
		Short: "Change a connector's options; only the options given change",
		Long: `Change a connector's options. Only the options given change; the others keep
their values. A new secret replaces the sealed one. Switching --auth needs the
secret of the new way (and forgets the old one, sealed or not). Changing the
period, start time or time zone re-anchors weekly and monthly schedules on
today's date.`,
		Example: `  neurons-connector connector edit "Okta prod" --user-status active,locked_out --start-time 03:30
  neurons-connector connector edit "Okta prod" --token-stdin < new-token.txt
  neurons-connector connector edit "Okta prod" --auth oauth --client-id 0oa1b2c3d4e5F6g7H8i9 --private-key-file app.pem
  neurons-connector connector edit "Okta prod" --auth token --token-file okta.token`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if len(given(fs, o.flags...)) == 0 {
				return usagef("nothing to change: give at least one option; see: %s --help", cmd.CommandPath())
			}
			ch, err := o.changes(fs)
			if err != nil {
				return err
			}
			req := api.EditRequest{Name: args[0], Changes: ch}
			// The secret is read here, where the variable or file is, once
			// the connector's kind says which flags are its own; the
			// backend checks the kind again.
			for _, sp := range specs {
				var g []string
				for _, a := range sp.Auth {
					flags := a.Secret.Flags()
					g = append(g, given(fs, flags[:]...)...)
				}
				if len(g) == 0 {
					continue
				}
				c, err := t.s.backend.Show(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if c.Type != string(sp.Kind) {
					return usagef("--%s gives the secret of %s connectors; %q is of type %s", g[0], sp.Kind, c.Name, c.Type)
				}
				v, auth, err := t.readSecret(fs, &o, sp)
				if err != nil {
					return err
				}
				req.Secret, req.SecretKind, req.SecretFlag = v.Reveal(), sp.Kind, auth.Secret.Flag
				break
			}
			c, err := t.s.backend.Edit(cmd.Context(), req)
			if err != nil {
				return err
			}
			if c.Warning != "" {
				fmt.Fprintf(t.env.Stderr, "warning: %s\n", c.Warning)
			}
			_, err = fmt.Fprintf(t.env.Stdout, "Updated connector %q: %s; it runs %s.\n", c.Name, o.describeChanges(fs), runsWhen(c))
			return err
		}),
	}
	o.bind(cmd.Flags(), specs...)
	return declare(cmd, needsBackend)
}

func (t *tree) removeCmd() *cobra.Command {
	var purge, force bool
	cmd := &cobra.Command{
		Use:   "remove NAME [--purge]",
		Short: "Remove a connector and everything stored for it",
		Long: `Remove a connector with its sealed secrets, cursor, snapshot and run history,
in one step. The users it delivered stay in Neurons, unless --purge: then a delete
(reason connector-removed) is pushed for each of them first, and the connector is
removed only once the sink has acknowledged them all.

A connector whose changes still wait for the sink is not removed (the changes
would be lost): deliver them with "neurons-connector run NAME", or pass --force.`,
		Example: `  neurons-connector connector remove "Okta test"
  neurons-connector connector remove "Okta test" --purge`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			out, err := t.s.backend.Remove(cmd.Context(), api.RemoveRequest{Name: args[0], Purge: purge, Force: force})
			if err != nil {
				return err
			}
			c := out.Connector
			if purge {
				fmt.Fprintf(t.env.Stderr, "Deleted %d users of %q from the sink.\n", out.Purged, c.Name)
			}
			if out.Warning != "" {
				fmt.Fprintf(t.env.Stderr, "warning: %s\n", out.Warning)
			}
			_, err = fmt.Fprintf(t.env.Stdout, "Removed %s connector %q (id %s).\n", c.Type, c.Name, c.ID)
			return err
		}),
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "first delete the connector's users from Neurons")
	cmd.Flags().BoolVar(&force, "force", false, "remove even though changes wait for the sink (they are dropped)")
	return declare(cmd, needsBackend)
}

// runsWhen says when a connector runs, for confirmation lines.
func runsWhen(c api.Connector) string {
	if !c.Active {
		return "never on schedule (inactive)"
	}
	return c.Schedule
}

// sameTenant notes the other connectors that read the tenant c reads: each
// sends the same users to Neurons under its own connector ID, so the users
// appear once per connector. That is right for a move between servers or
// two status selections, and a mistake otherwise; either way the admin
// should know.
func (t *tree) sameTenant(ctx context.Context, c api.Connector) {
	all, err := t.s.backend.List(ctx)
	if err != nil {
		return // the connector was added; the note is only a note
	}
	var others []string
	for _, o := range all {
		if o.ID != c.ID && o.Type == c.Type && o.URL == c.URL {
			others = append(others, fmt.Sprintf("%q", o.Name))
		}
	}
	if len(others) == 0 {
		return
	}
	verb := "read"
	if len(others) == 1 {
		verb = "reads"
	}
	fmt.Fprintf(t.env.Stdout, "Note: %s %s %s too; each connector sends its users to Neurons under its own connector ID, "+
		"so they appear once per connector, and each spends its own --rate-share of the tenant's rate limits, so together they "+
		"take more than one would (remove the one you do not need with: neurons-connector connector remove NAME).\n",
		strings.Join(others, ", "), verb, c.URL)
}
