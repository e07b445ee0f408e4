package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/store"
)

// runView is one run as status prints it.
type runView struct {
	ID             string    `json:"id"`
	Mode           string    `json:"mode"`
	ModeReason     string    `json:"modeReason,omitempty"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	Result         string    `json:"result"`
	Error          string    `json:"error,omitempty"`
	Warnings       []string  `json:"warnings,omitempty"`
	Fetched        int       `json:"fetched"`
	Upserted       int       `json:"upserted"`
	Deleted        int       `json:"deleted"`
	Held           int       `json:"held,omitempty"`
	Confirmed      bool      `json:"confirmed,omitempty"`
	APICalls       int       `json:"apiCalls"`
	RateLimitWaits int       `json:"rateLimitWaits"`
	RateLimitWait  string    `json:"rateLimitWait"`
}

// holdView is why a connector's deletes are held.
type holdView struct {
	Why     string    `json:"why"`
	Since   time.Time `json:"since"`
	Run     string    `json:"run"`
	Confirm string    `json:"confirm"` // the command that lets them through
}

// statusView is one connector's status: its configuration, and what the
// database knows of its runs.
type statusView struct {
	connectorView
	// OnThisServer is whether this host's NC_SERVER_NAME runs the connector.
	OnThisServer bool     `json:"onThisServer"`
	LastRun      *runView `json:"lastRun"`
	Outbox       int      `json:"outboxBatches"`
	KnownUsers   int      `json:"knownUsers"`
	// HeldDeletes is how many deletes the deletion guard holds (0: none);
	// Hold says why and since when.
	HeldDeletes int        `json:"heldDeletes"`
	Hold        *holdView  `json:"hold,omitempty"`
	CursorSaved *time.Time `json:"cursorSaved,omitempty"`
	CursorAge   string     `json:"cursorAge,omitempty"`
	// NextRun is the next scheduled run; absent for a connector that does
	// not run on schedule here (inactive, or another server's).
	NextRun *time.Time `json:"nextRun,omitempty"`
	// Daemon is the running daemon's view (running now, retries, the
	// pusher); absent when status read the database itself.
	Daemon *engine.State `json:"daemon,omitempty"`
}

func (a *app) statusCmd() *cobra.Command {
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
		RunE: action(func(_ *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			views, err := a.statusViews(name)
			if err != nil {
				return err
			}
			switch {
			case asJSON && len(args) == 1:
				return writeJSON(a.stdout, views[0])
			case asJSON:
				return writeJSON(a.stdout, views)
			case len(args) == 1:
				return writeDetails(a.stdout, views[0].details())
			}
			return a.writeStatusTable(views)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON on stdout (an array, or one object with NAME)")
	return cmd
}

// statusViews reads the status of one connector (name) or all.
func (a *app) statusViews(name string) ([]statusView, error) {
	views := []statusView{}
	err := a.view(func(tx *store.Tx) error {
		var all []connector.Config
		var err error
		switch {
		case name != "":
			var c connector.Config
			c, err = findConnector(tx, name)
			all = []connector.Config{c}
		case tx != nil:
			all, err = tx.Connectors()
		}
		if err != nil {
			return err
		}
		for _, c := range all {
			v, err := a.newStatusView(tx, c)
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		return nil
	})
	return views, err
}

func (a *app) newStatusView(tx *store.Tx, c connector.Config) (statusView, error) {
	v := statusView{
		connectorView: newConnectorView(tx, c),
		OnThisServer:  c.Server == a.cfg.ServerName,
		Outbox:        tx.OutboxDepth(c.ID),
		KnownUsers:    tx.SnapshotSize(c.ID),
	}
	state, err := tx.SyncState(c.ID)
	if err != nil {
		return v, err
	}
	if h := state.Hold; h != nil {
		v.HeldDeletes = h.Count
		v.Hold = &holdView{Why: h.Why, Since: h.Since, Run: h.Run,
			Confirm: fmt.Sprintf("neurons-connector run %q --confirm-deletes", c.Name)}
	}
	runs, err := tx.Runs(c.ID, 1)
	if err != nil {
		return v, err
	}
	if len(runs) == 1 {
		r := runs[0]
		v.LastRun = &runView{ID: r.ID, Mode: r.Mode, ModeReason: r.ModeReason, Start: r.Start, End: r.End,
			Result: r.Result, Error: r.Error, Warnings: r.Warnings,
			Fetched: r.Fetched, Upserted: r.Upserted, Deleted: r.Deleted, Held: r.Held, Confirmed: r.Confirmed, APICalls: r.APICalls,
			RateLimitWaits: r.RateLimitWaits, RateLimitWait: r.RateLimitWait.Round(time.Millisecond).String()}
	}
	cur, ok, err := tx.Cursor(c.ID)
	if err != nil {
		return v, err
	}
	if ok && !cur.Saved.IsZero() {
		saved := cur.Saved
		v.CursorSaved = &saved
		v.CursorAge = a.clock().Now().Sub(saved).Round(time.Second).String()
	}
	if a.inDaemon != nil {
		if st, ok := a.inDaemon.sched.State(c.ID); ok {
			v.Daemon = &st
			if !st.NextRun.IsZero() {
				next := st.NextRun
				v.NextRun = &next
			}
		}
	} else if c.Active && v.OnThisServer {
		next := c.Schedule.Next(a.clock().Now(), a.local)
		v.NextRun = &next
	}
	return v, nil
}

func (a *app) writeStatusTable(views []statusView) error {
	if len(views) == 0 {
		_, err := fmt.Fprintln(a.stdout, "No connectors yet; add one with: neurons-connector connector add okta|onelogin --help")
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSERVER\tACTIVE\tSCHEDULE\tNEXT RUN\tLAST RUN\tRESULT\tFETCHED\tUPSERTED\tDELETED\tHELD\tOUTBOX")
	for _, v := range views {
		last, result, fetched, upserted, deleted := "never", "-", "-", "-", "-"
		if r := v.LastRun; r != nil {
			last = r.Start.In(a.local).Format("2006-01-02 15:04") + " " + r.Mode
			result = r.Result
			fetched, upserted, deleted = fmt.Sprint(r.Fetched), fmt.Sprint(r.Upserted), fmt.Sprint(r.Deleted)
		}
		server := v.Server
		if !v.OnThisServer {
			server += " (not this one)"
		}
		next := "-"
		if v.NextRun != nil {
			next = v.NextRun.In(a.local).Format("2006-01-02 15:04")
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

func (v statusView) details() [][2]string {
	rows := v.connectorView.details()
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
			rows = append(rows, [2]string{"Running", fmt.Sprintf("since %s: %d users read, %d upserts, %d deletes so far",
				d.RunningSince.Format(time.RFC3339), d.Progress.Fetched, d.Progress.Upserts, d.Progress.Deletes)})
		}
		if d.Failures > 0 {
			rows = append(rows, [2]string{"Failing", fmt.Sprintf("%d scheduled runs in a row; next try %s", d.Failures, d.RetryAt.Format(time.RFC3339))})
		}
		if d.PushError != "" {
			rows = append(rows, [2]string{"Pushing stopped", d.PushError})
		}
	}
	if h := v.Hold; h != nil {
		rows = append(rows, [2]string{"Held deletes", fmt.Sprintf("%d, since %s (run %s): %s; to let them through: %s",
			v.HeldDeletes, h.Since.Format(time.RFC3339), h.Run, h.Why, h.Confirm)})
	}
	cursor := "none yet"
	if v.CursorSaved != nil {
		cursor = "saved " + v.CursorAge + " ago"
	}
	return append(rows,
		[2]string{"Outbox", fmt.Sprintf("%d batches waiting for the sink", v.Outbox)},
		[2]string{"Known users", fmt.Sprint(v.KnownUsers)},
		[2]string{"Cursor", cursor},
	)
}

// usersLine is a run's figures for status NAME.
func usersLine(r *runView) string {
	line := fmt.Sprintf("%d fetched, %d upserted, %d deleted", r.Fetched, r.Upserted, r.Deleted)
	if r.Held > 0 {
		line += fmt.Sprintf(", %d deletes held", r.Held)
	}
	if r.Confirmed {
		line += " (deletes confirmed)"
	}
	return line
}
