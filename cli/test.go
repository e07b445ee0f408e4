package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// checkTimeout bounds "connector test": a check that cannot finish in this
// time has found its answer (the network or the provider is not answering).
const checkTimeout = 2 * time.Minute

func (t *tree) testCmd() *cobra.Command {
	return declare(&cobra.Command{
		Use:   "test NAME",
		Short: "Make one cheap authenticated call and say what is wrong, if anything",
		Long: `Check that a connector can reach its provider and that its credentials work,
with the cheapest authenticated calls (Okta: GET /api/v1/org and one user, after an
OAuth app's token; OneLogin: a token, then one user from /api/2/users).
A failure is explained as what to do: a wrong or expired token, an OAuth app's
client ID or key that Okta refuses, a missing admin role (Okta then lists no users
instead of failing: the check reads one of the users the connector delivered to
tell), an unknown host, an untrusted TLS certificate, no network, or a tenant other
than the one the connector's runs read. An OAuth app's optional scopes that are not
granted are listed a line each, with what runs leave out without them. With the
Neurons sink, it then asks NC_NEURONS_TOKEN_URL for a token, so that a wrong client
secret or token URL shows now rather than after a first run queued every user.`,
		Example: `  neurons-connector connector test "Okta prod"
  neurons-connector connector test OneLogin`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), checkTimeout)
			defer cancel()
			msg, err := t.s.backend.Test(ctx, args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(t.env.Stdout, "OK: %s.\n", msg)
			return err
		}),
	}, needsBackend)
}
