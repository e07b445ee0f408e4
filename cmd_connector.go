package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/secret"
	"neurons-connector/store"
)

func (a *app) connectorCmd() *cobra.Command {
	add := group("add", "Add an Okta or OneLogin connector", a.addCmd(connector.Okta), a.addCmd(connector.OneLogin))
	add.Use = "add okta|onelogin [options]"
	add.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		_, err := connector.ParseKind(args[0])
		return usagef("%v", err)
	}
	return group("connector", "Add, change, list, show and remove connectors",
		add, a.editCmd(), a.listCmd(), a.showCmd(), a.removeCmd(), a.testCmd())
}

func (a *app) addCmd(kind connector.Kind) *cobra.Command {
	var o options
	example := `  export OKTA_TOKEN=...   # an API token of a read-only admin
  neurons-connector connector add okta --name "Okta prod" --url https://acme.okta.com \
      --token-env OKTA_TOKEN --user-status active,suspended`
	if kind == connector.OneLogin {
		example = `  neurons-connector connector add onelogin --name "OneLogin" --domain acme.onelogin.com \
      --client-id 0123abcd --client-secret-file /root/onelogin.secret --repeats hourly`
	}
	cmd := &cobra.Command{
		Use:   string(kind) + " --name NAME [options]",
		Short: "Add a " + kindTitle(kind) + " connector",
		Long: "Add a " + kindTitle(kind) + ` connector. The secret is read once, from an environment variable, a file
or standard input, and stored sealed in the database; the variable or file is
not needed afterwards. Options left out take the defaults shown.`,
		Example: example,
		Args:    needArgs(0, "no arguments besides options"),
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			now := a.now()
			c := connector.New(kind, now.In(a.local))
			fs := cmd.Flags()
			if err := o.apply(fs, &c); err != nil {
				return err
			}
			sec, haveSecret, err := a.readSecret(fs, &o, kind)
			if err != nil {
				return err
			}
			if err := missing(fs, kind, haveSecret); err != nil {
				return err
			}
			c.Schedule.Reanchor(now, a.local)
			err = a.update(true, func(tx *store.Tx) error {
				if err := tx.PutConnector(c); err != nil {
					return nameError(err)
				}
				return tx.PutSecret(c.ID, secretName(kind), sec)
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Added %s connector %q (id %s); it runs %s.\n", kind, c.Name, c.ID, runsWhen(c))
			return err
		}),
	}
	o.bind(cmd.Flags(), kind)
	return cmd
}

func (a *app) editCmd() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "edit NAME [options]",
		Short: "Change a connector's options; only the options given change",
		Long: `Change a connector's options. Only the options given change; the others keep
their values. A new secret replaces the sealed one. Changing the period, start
time or time zone re-anchors weekly and monthly schedules on today's date.`,
		Example: `  neurons-connector connector edit "Okta prod" --user-status active,locked_out --start-time 03:30
  neurons-connector connector edit "Okta prod" --token-stdin < new-token.txt`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if len(given(fs, optionFlags...)) == 0 {
				return usagef("nothing to change: give at least one option; see: %s --help", cmd.CommandPath())
			}
			// The secret is read before the database is opened; whether its
			// flags fit the connector's kind is checked once it is known.
			var sec secret.Value
			var haveSecret bool
			for _, k := range connector.Kinds {
				if len(given(fs, secretFlags[k]...)) > 0 {
					v, ok, err := a.readSecret(fs, &o, k)
					if err != nil {
						return err
					}
					sec, haveSecret = v, ok
					break
				}
			}
			var c connector.Config
			err := a.update(false, func(tx *store.Tx) error {
				var err error
				if c, err = findConnector(tx, args[0]); err != nil {
					return err
				}
				if err := checkKindFlags(fs, c); err != nil {
					return err
				}
				if err := o.apply(fs, &c); err != nil {
					return err
				}
				if scheduleChanged(fs) {
					c.Schedule.Reanchor(a.now(), a.local)
				}
				c.Updated = a.now().UTC()
				if err := tx.PutConnector(c); err != nil {
					return nameError(err)
				}
				if haveSecret {
					return tx.PutSecret(c.ID, secretName(c.Kind), sec)
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Updated connector %q: %s; it runs %s.\n", c.Name, describeChanges(fs), runsWhen(c))
			return err
		}),
	}
	o.bind(cmd.Flags(), connector.Kinds...)
	return cmd
}

func (a *app) removeCmd() *cobra.Command {
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
			defer a.hold(args[0])() // a daemon's worker must not write while the connector goes
			if purge {
				if err := a.purge(cmd.Context(), args[0]); err != nil {
					return err
				}
			}
			var c connector.Config
			err := a.update(false, func(tx *store.Tx) error {
				var err error
				if c, err = findConnector(tx, args[0]); err != nil {
					return err
				}
				if n := tx.OutboxRecords(c.ID); n > 0 && !force {
					return fmt.Errorf("connector %q has %d changes waiting for the sink; deliver them first "+
						"(neurons-connector run %q) or remove with --force to drop them", c.Name, n, c.Name)
				}
				return tx.DeleteConnector(c.ID)
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Removed %s connector %q (id %s).\n", c.Kind, c.Name, c.ID)
			return err
		}),
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "first delete the connector's users from Neurons")
	cmd.Flags().BoolVar(&force, "force", false, "remove even though changes wait for the sink (they are dropped)")
	return cmd
}

// purge queues and delivers a delete for every user the connector
// delivered.
func (a *app) purge(ctx context.Context, name string) error {
	db, c, _, err := a.openConnector(name, false)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	eng, err := a.engine(db)
	if err != nil {
		return err
	}
	s, err := a.sink(db)
	if err != nil {
		return err
	}
	pusher := engine.NewPusher(db, s, c.ID, a.clock(), a.logger())
	stop := pusher.Start(ctx)
	n, err := eng.Purge(ctx, c, pusher.Kick)
	if err == nil {
		err = pusher.Drain(ctx, pushPatience)
	}
	_ = stop() // a permanent error is what Drain returned
	if err != nil {
		return fmt.Errorf("purge of %q stopped; the connector is kept and its deletes wait in the outbox: %w", c.Name, err)
	}
	fmt.Fprintf(a.stderr, "Deleted %d users of %q from the sink.\n", n, c.Name)
	return nil
}

// findConnector looks a connector up by name; an unknown name is bad input.
// tx is nil when no database exists yet.
func findConnector(tx *store.Tx, name string) (connector.Config, error) {
	if tx == nil {
		return connector.Config{}, unknownConnector(name)
	}
	c, err := tx.ConnectorByName(name)
	if errors.Is(err, store.ErrNotFound) {
		return c, unknownConnector(name)
	}
	return c, err
}

func unknownConnector(name string) error {
	return usagef("no connector named %q; see the names with: neurons-connector connector list", name)
}

// nameError turns a taken name into bad input naming --name.
func nameError(err error) error {
	var taken *store.NameTakenError
	if errors.As(err, &taken) {
		return usagef("--name: %v", err)
	}
	return err
}

// runsWhen says when a connector runs, for confirmation lines.
func runsWhen(c connector.Config) string {
	if !c.Active {
		return "never on schedule (inactive)"
	}
	return c.Schedule.String()
}
