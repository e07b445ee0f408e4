package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
	"neurons-connector/secret"
	"neurons-connector/store"
)

// checkTimeout bounds "connector test": a check that cannot finish in this
// time has found its answer (the network or Okta is not answering).
const checkTimeout = 2 * time.Minute

func (a *app) testCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Make one cheap authenticated call and say what is wrong, if anything",
		Long: `Check that a connector can reach its provider and that its credentials work,
with the cheapest authenticated calls (Okta: GET /api/v1/org and one user;
OneLogin: a token, then one user from /api/2/users).
A failure is explained as what to do: a wrong or expired token, a missing admin
role (Okta then lists no users instead of failing: the check reads one of the users
the connector delivered to tell), an unknown host, an untrusted TLS certificate, no
network, or a tenant other than the one the connector's runs read.`,
		Example: `  neurons-connector connector test "Okta prod"
  neurons-connector connector test OneLogin`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			db, c, sec, err := a.openConnector(args[0], true)
			if err != nil {
				return err
			}
			// A few users the connector delivered, and the tenant its runs
			// read: what tells an empty answer or another org from a
			// healthy one.
			var known []string
			var state store.SyncState
			err = db.View(func(tx *store.Tx) error {
				errEnough := errors.New("enough")
				err := tx.ForEachSnapshot(c.ID, func(id string, s store.Snapshot) error {
					if s.Delivered() {
						known = append(known, id)
					}
					if len(known) == 3 {
						return errEnough
					}
					return nil
				})
				if err != nil && !errors.Is(err, errEnough) {
					return err
				}
				state, err = tx.SyncState(c.ID)
				return err
			})
			_ = db.Close() // the check needs the provider, not the database
			if err != nil {
				return err
			}
			prov, err := a.provider(c, sec)
			if err != nil {
				return err
			}
			client, ok := prov.(interface {
				Check(ctx context.Context, known []string) (string, error)
			})
			if !ok {
				return fmt.Errorf("connector %q: its provider has no check", c.Name)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), checkTimeout)
			defer cancel()
			msg, err := client.Check(ctx, known)
			if err != nil {
				return fmt.Errorf("connector %q: %w", c.Name, err)
			}
			if id, ok := prov.(engine.Identifier); ok && state.Identity != "" {
				now, err := id.Identity(ctx)
				switch {
				case err != nil:
					return fmt.Errorf("connector %q: %w", c.Name, err)
				case now != "" && now != state.Identity:
					return fmt.Errorf("connector %q: the provider answers as %s, but the connector's earlier runs read %s: its "+
						"URL names another tenant now; fix it (neurons-connector connector edit %q), or, if the switch is meant, "+
						"let the next run's deletes through with: neurons-connector run %q --confirm-deletes",
						c.Name, now, state.Identity, c.Name, c.Name)
				case now != "":
					msg += fmt.Sprintf(" (%s, as in the connector's earlier runs)", now)
				}
			}
			_, err = fmt.Fprintf(a.stdout, "OK: %s.\n", msg)
			return err
		}),
	}
}

// oneLoginClient builds the OneLogin client of a connector.
func (a *app) oneLoginClient(c connector.Config, clientSecret secret.Value) (*onelogin.Client, error) {
	return onelogin.New(onelogin.Options{
		BaseURL:      c.URL,
		ClientID:     c.ClientID,
		ClientSecret: clientSecret,
		RateShare:    c.RateShare,
		Logger:       a.logger().With("connector", c.Name),
		UserAgent:    "neurons-connector/" + version,
		Name:         c.Name,
	})
}

// oktaClient builds the Okta client of a connector.
func (a *app) oktaClient(c connector.Config, token secret.Value) (*okta.Client, error) {
	return okta.New(okta.Options{
		BaseURL:   c.URL,
		Token:     token,
		RateShare: c.RateShare,
		Logger:    a.logger().With("connector", c.Name),
		UserAgent: "neurons-connector/" + version,
		Name:      c.Name,
		SpoolDir:  a.cfg.DataDir, // private (0700), unlike a shared temporary folder
	})
}

// logger writes to stderr at NC_LOG_LEVEL in NC_LOG_FORMAT. It is made
// once: every component shares its handler, whose lock keeps lines whole.
func (a *app) logger() *slog.Logger {
	if a.log == nil {
		a.log = a.newLogger(nil)
	}
	return a.log
}
