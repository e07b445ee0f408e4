package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"neurons-connector/api"
)

func (t *tree) explainCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain NAME USER [--json]",
		Short: "Show how one user is read, mapped and delivered, row by row",
		Long: `Read one user of connector NAME from its provider now (USER: its source ID, login
or e-mail; Okta: with its app links and devices; OneLogin: with its manager, from
what the connector knows or else read from OneLogin) and show, in order: the record as the provider sent it; every
target the mapping table in force fills, with its value and the row that made it
(FILE:LINE); the targets left empty and why (source missing, null or empty, or a
transform that gave nothing); whether the user's status is selected (if not, the
delete a run would send); whether the record differs from what the connector last
queued; when and by which run it was last sent; and what of it waits in the outbox.
A handful of API calls, paced like a run's; nothing is changed, and it works while
the service runs. A user nobody or several users answer to is exit 2.`,
		Example: `  neurons-connector explain "Okta prod" ada.lovelace@example.com
  neurons-connector explain "Okta prod" 00u1a2b3c4d5E6f7G8h9 --json
  neurons-connector explain OneLogin 30000012`,
		Args: needArgs(2, "the connector's NAME and the USER (ID, login or e-mail)"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			x, err := t.s.backend.Explain(cmd.Context(), api.ExplainRequest{Name: args[0], User: args[1]})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(t.env.Stdout, x)
			}
			return writeExplanation(t.env.Stdout, x)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	return declare(cmd, needsBackend)
}

// writeExplanation prints an explanation for people, in the order of
// explain's help.
func writeExplanation(w io.Writer, x api.Explanation) error {
	fmt.Fprintf(w, "User %s of %q, status %s, as the provider sent it:\n", x.SourceID, x.Connector, x.Status)
	var rec bytes.Buffer
	if err := json.Indent(&rec, x.Record, "  ", "  "); err != nil {
		rec.Write(x.Record)
	}
	fmt.Fprintf(w, "  %s\n", rec.String())

	fmt.Fprintf(w, "\nTargets the table in force (%s) fills:\n", x.Table)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var empty []api.Explained
	for _, e := range x.Targets {
		if len(e.Value) == 0 {
			empty = append(empty, e)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Target, e.Value, e.Row, rowText(e))
	}
	_ = tw.Flush()
	if len(empty) > 0 {
		fmt.Fprintln(w, "\nTargets left empty:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range empty {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Target, e.Why, e.Row)
		}
		_ = tw.Flush()
	}

	fmt.Fprintln(w)
	switch {
	case x.Selected:
		fmt.Fprintf(w, "Status %s is selected: runs deliver this user.\n", x.Status)
	case x.Delete != "":
		fmt.Fprintf(w, "Status %s is not selected: a run would delete this user from Neurons (reason %s).\n", x.Status, x.Delete)
	default:
		fmt.Fprintf(w, "Status %s is not selected, and the connector never delivered this user: runs leave it out.\n", x.Status)
	}
	switch x.Delivered {
	case "never":
		fmt.Fprintln(w, "Last queued: never; the next run sends it if its status is selected.")
	case "unchanged":
		fmt.Fprintln(w, "Last queued: the same record (its hash matches the connector's snapshot); a run sends nothing for it.")
	default:
		next := " the next run sends this one."
		if !x.Selected {
			next = " its status is no longer selected (above)."
		}
		fmt.Fprintln(w, "Last queued: a different record;"+next+" (The connector keeps a hash of what it "+
			"queued, not the values, so it cannot say which targets changed.)")
	}
	if q := x.LastQueued; q != nil {
		by := "a run no longer in the connector's history"
		if q.Run != "" {
			by = "run " + q.Run
		}
		state := "delivered since (nothing of it waits in the outbox)"
		for _, o := range x.Outbox {
			if o.Change == "upsert" {
				state = "waiting in the outbox"
			}
		}
		fmt.Fprintf(w, "Last sent by %s, started %s: %s.\n", by, q.At.Format(time.RFC3339), state)
	}
	if len(x.Outbox) == 0 {
		_, err := fmt.Fprintln(w, "Outbox: nothing for this user waits for the sink.")
		return err
	}
	var waits []string
	for _, q := range x.Outbox {
		s := fmt.Sprintf("%s in batch %d", q.Change, q.Batch)
		if q.Reason != "" {
			s += " (" + q.Reason + ")"
		}
		waits = append(waits, s)
	}
	_, err := fmt.Fprintf(w, "Outbox: waiting for the sink: %s.\n", strings.Join(waits, ", "))
	return err
}

// rowText is a row's source and transform as written.
func rowText(e api.Explained) string {
	if e.Transform == "" {
		return e.Source
	}
	return e.Source + " → " + e.Transform
}
