package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"neurons-connector/api"
	"neurons-connector/connector"

	"github.com/spf13/cobra"
)

func (t *tree) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show each connector's schedule, last run and backlog",
		Long: `Show, per connector: type, server, active, schedule, the next scheduled run, the
last run (start, end, mode, result, users fetched / upserted / deleted, API calls,
rate-limit waits, error), the outbox backlog and the cursor's age. With NAME, one
connector in detail. With the service running it asks the service, which adds a
run in progress, failures in a row and the next retry; otherwise it reads the
database. It never changes anything.`,
		Example: `  neurons-connector status
  neurons-connector status "Okta prod" --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			views, err := t.s.backend.Status(cmd.Context(), name)
			if err != nil {
				return err
			}
			switch {
			case asJSON && len(args) == 1:
				return writeJSON(t.env.Stdout, views[0])
			case asJSON:
				return writeJSON(t.env.Stdout, views)
			case len(args) == 1:
				return writeDetails(t.env.Stdout, statusDetails(t.env.Drivers.Specs(), views[0]))
			}
			return t.writeStatusTable(views)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON on stdout (an array, or one object with NAME)")
	return declare(cmd, needsBackend)
}

func (t *tree) writeStatusTable(views []api.Status) error {
	if len(views) == 0 {
		_, err := fmt.Fprintln(t.env.Stdout, "No connectors yet; add one with: neurons-connector connector add "+
			strings.ReplaceAll(t.env.Drivers.Specs().Names(), ", ", "|")+" --help")
		return err
	}
	tw := tabwriter.NewWriter(t.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSERVER\tACTIVE\tSCHEDULE\tNEXT RUN\tLAST RUN\tRESULT\tFETCHED\tUPSERTED\tDELETED\tHELD\tOUTBOX")
	for _, v := range views {
		last, result, fetched, upserted, deleted := "never", "-", "-", "-", "-"
		if r := v.LastRun; r != nil {
			last = r.Start.In(t.env.Local).Format("2006-01-02 15:04") + " " + r.Mode
			result = r.Result
			fetched, upserted, deleted = fmt.Sprint(r.Fetched), fmt.Sprint(r.Upserted), fmt.Sprint(r.Deleted)
		}
		server := v.Server
		if !v.OnThisServer {
			server += " (not this one)"
		}
		next := "-"
		if v.NextRun != nil {
			next = v.NextRun.In(t.env.Local).Format("2006-01-02 15:04")
		}
		if d := v.Daemon; d != nil && d.Running {
			result = fmt.Sprintf("running (%d users so far)", d.Progress.Fetched)
		} else if d != nil && d.Failures > 0 {
			result += fmt.Sprintf(" (%d failures in a row)", d.Failures)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", v.Name, v.Type, server, yesNo(v.Active),
			v.Schedule, next, last, result, fetched, upserted, deleted, v.HeldDeletes, v.Outbox)
	}
	return tw.Flush()
}

// statusDetails is one connector's status as status NAME prints it.
func statusDetails(specs connector.Specs, v api.Status) [][2]string {
	rows := connectorDetails(specs, v.Connector)
	if !v.OnThisServer {
		rows = append(rows, [2]string{"Runs here", "no: its server is " + v.Server + ", this host's NC_SERVER_NAME differs"})
	}
	if r := v.LastRun; r == nil {
		rows = append(rows, [2]string{"Last run", "never (the first run will be full)"})
	} else {
		rows = append(rows,
			[2]string{"Last run", fmt.Sprintf("%s, %s run (%s), %s to %s", r.Result, r.Mode, r.ModeReason,
				r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339))},
			[2]string{"Users", usersLine(r)},
			[2]string{"API calls", fmt.Sprintf("%d, %d rate-limit waits (%s)", r.APICalls, r.RateLimitWaits, r.RateLimitWait)},
		)
		if r.Error != "" {
			rows = append(rows, [2]string{"Last error", r.Error})
		}
		for _, w := range r.Warnings {
			rows = append(rows, [2]string{"Warning", w})
		}
	}
	if v.NextRun != nil {
		rows = append(rows, [2]string{"Next run", v.NextRun.Format(time.RFC3339)})
	}
	if d := v.Daemon; d != nil {
		if d.Running {
			rows = append(rows, [2]string{"Running", fmt.Sprintf("since %s: %s read, %s, %s so far",
				d.RunningSince.Format(time.RFC3339), count(d.Progress.Fetched, "user"), count(d.Progress.Upserts, "upsert"), count(d.Progress.Deletes, "delete"))})
		}
		if d.Failures > 0 {
			rows = append(rows, [2]string{"Failing", fmt.Sprintf("%s in a row; next try %s", count(d.Failures, "scheduled run"), d.RetryAt.Format(time.RFC3339))})
		}
		if d.PushError != "" {
			rows = append(rows, [2]string{"Pushing stopped", d.PushError})
		}
	}
	if n := v.NotAccepted; n != nil {
		rows = append(rows, [2]string{"Not accepted", fmt.Sprintf("%s in %s the sink acknowledged short (the last %s, %s); %s",
			count(n.Records, "record"), count(n.Batches, "batch"), n.LastBatch, n.Last.Format(time.RFC3339), n.Fix)})
	}
	if r := v.Refused; r != nil {
		rows = append(rows, [2]string{"Refused batch", fmt.Sprintf("%s (%d records), since %s: %s; %s",
			r.Batch, r.Records, r.Since.Format(time.RFC3339), r.Error, r.Fix)})
	}
	if h := v.Hold; h != nil {
		rows = append(rows, [2]string{"Held deletes", fmt.Sprintf("%d, since %s (run %s): %s; to let them through: %s",
			v.HeldDeletes, h.Since.Format(time.RFC3339), h.Run, h.Why, h.Confirm)})
	}
	cursor := "none yet"
	switch {
	case v.CursorSaved != nil && strings.HasPrefix(v.CursorAge, "-"):
		// Saved later than now: the clock was set back since.
		cursor = "saved at " + v.CursorSaved.Format(time.RFC3339) + ", later than this computer's clock now (was the clock set back?)"
	case v.CursorSaved != nil:
		cursor = "saved " + v.CursorAge + " ago"
	}
	rows = append(rows,
		[2]string{"Outbox", outboxWords(v.Outbox)},
		[2]string{"Known users", fmt.Sprint(v.KnownUsers)},
	)
	if v.Sink != "" {
		rows = append(rows, [2]string{"Delivered to", v.Sink})
	}
	if v.NextSink != "" {
		rows = append(rows, [2]string{"Next run goes to", v.NextSink + ", so it resends every selected user (the sink changed)"})
	}
	if v.Resend != "" {
		rows = append(rows, [2]string{"Resend pending", v.Resend + " (at the next run)"})
	}
	return append(rows, [2]string{"Cursor", cursor})
}

// usersLine is a run's figures for status NAME.
func usersLine(r *api.Run) string {
	line := fmt.Sprintf("%d fetched%s, %d upserted, %d deleted", r.Fetched, rereadNote(r.Reread), r.Upserted, r.Deleted)
	if r.Held > 0 {
		line += fmt.Sprintf(", %d deletes held", r.Held)
	}
	if r.Confirmed {
		line += " (deletes confirmed)"
	}
	if r.Resend {
		line += " (a resend: every selected user sent again)"
	}
	return line
}

// outboxWords is the status's Outbox line.
func outboxWords(batches int) string { return count(batches, "batch") + " waiting for the sink" }
