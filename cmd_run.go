package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"neurons-connector/connector"
	"neurons-connector/engine"
	"neurons-connector/mapping"
	"neurons-connector/secret"
	"neurons-connector/settings"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// pushPatience is how long `run` keeps trying to deliver after the pass
// when the sink fails; what is left waits in the outbox for the next run or
// the service.
const pushPatience = 30 * time.Second

func (a *app) runCmd() *cobra.Command {
	var full, dry, confirm bool
	cmd := &cobra.Command{
		Use:   "run NAME [--full] [--dry-run] [--confirm-deletes]",
		Short: "Sync a connector now, in the foreground",
		Long: `Sync a connector now: read its users from the provider, map them, and push the
changes to the sink (NC_SINK). In a terminal, progress shows on stderr; a summary
follows. The run is full on the first run, after a change of configuration or
mapping table, with --full, or when the last full run is older than --full-every;
otherwise incremental. --dry-run prints the changes it would push, one JSON line
each on stdout, and changes nothing.

The deletion guard: a run whose deletes exceed the connector's --max-deletes
(default 10% of the users it has delivered), a full run that lists no users while
the connector has delivered some, or a run against another Okta org or OneLogin
account than the last one delivers its upserts but holds its deletes: they stay
out of the outbox, status shows them, and the run exits 1 saying why.
--confirm-deletes runs in full and lets that run's deletes through once; a user
seen in the selection again since is not deleted.

Exit codes: 0 all changes delivered; 1 the run failed, its deletes were held, or
changes still wait in the outbox (kept, and delivered by the next run or the
service); 2 bad usage.`,
		Example: `  neurons-connector run "Okta prod"
  neurons-connector run "Okta prod" --full
  neurons-connector run "Okta prod" --dry-run | head
  neurons-connector run "Okta prod" --confirm-deletes   # after checking why deletes were held`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			db, c, sec, err := a.openConnector(args[0], true)
			if err != nil {
				return err
			}
			defer func() { _ = db.Close() }()
			if !c.Active {
				fmt.Fprintf(a.stderr, "note: connector %q is inactive: it never runs on schedule, but this explicit run goes ahead\n", c.Name)
			}
			if c.Server != a.cfg.ServerName {
				fmt.Fprintf(a.stderr, "note: connector %q belongs to server %q, not this host's %q\n", c.Name, c.Server, a.cfg.ServerName)
			}
			if confirm && dry {
				return usagef("--confirm-deletes and --dry-run contradict each other: a dry run changes nothing; give one")
			}
			if a.inDaemon != nil && !dry {
				// The daemon's worker for the connector runs it, after any
				// run it is busy with, and its pusher delivers.
				run, pusher, err := a.inDaemon.sched.RunNow(cmd.Context(), c.ID, engine.RunFlags{Full: full, ConfirmDeletes: confirm}, nil)
				var drainErr error
				if pusher != nil {
					drainErr = pusher.Drain(cmd.Context(), pushPatience)
				}
				return a.report(db, c, run, err, drainErr)
			}
			prov, err := a.provider(c, sec)
			if err != nil {
				return err
			}
			return a.syncNow(cmd.Context(), db, c, prov, engine.Options{Full: full, DryRun: dry, ConfirmDeletes: confirm})
		}),
	}
	cmd.Flags().BoolVar(&full, "full", false, "read every user, not only those changed since the last run")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the changes it would push (JSON lines on stdout) and change nothing")
	cmd.Flags().BoolVar(&confirm, "confirm-deletes", false, "run in full and let this run's deletes through the deletion guard (--max-deletes, an empty listing, another tenant)")
	return cmd
}

// provider builds the client of a connector's provider.
func (a *app) provider(c connector.Config, sec secret.Value) (engine.Provider, error) {
	if c.Kind == connector.OneLogin {
		return a.oneLoginClient(c, sec)
	}
	return a.oktaClient(c, sec)
}

// engine builds the sync engine on db.
func (a *app) engine(db *store.DB) (*engine.Engine, error) {
	src, err := a.mappingSource()
	if err != nil {
		return nil, err
	}
	return &engine.Engine{DB: db, Tables: mapping.NewKeeper(src), Clock: a.clock(), Log: a.logger(), SpillDir: a.cfg.DataDir}, nil
}

// sink builds the configured sink.
func (a *app) sink(db *store.DB) (engine.Sink, error) {
	if a.cfg.Sink == settings.SinkCSV {
		return &sink.CSV{DB: db, Dir: a.cfg.CSVDir}, nil
	}
	return sink.NewNeurons(sink.NeuronsOptions{URL: a.cfg.NeuronsURL, TokenURL: a.cfg.NeuronsTokenURL,
		ClientID: a.cfg.NeuronsClientID, ClientSecret: a.cfg.NeuronsClientSecret, Scope: a.cfg.NeuronsScope,
		UserAgent: "neurons-connector/" + version})
}

// syncNow runs one connector in the foreground and delivers its changes.
func (a *app) syncNow(ctx context.Context, db *store.DB, c connector.Config, prov engine.Provider, o engine.Options) error {
	eng, err := a.engine(db)
	if err != nil {
		return err
	}
	if o.DryRun {
		enc := newLineEncoder(a.stdout)
		o.Change = enc.change
		run, err := eng.Run(ctx, c, prov, o)
		var held *engine.HeldError
		switch {
		case errors.As(err, &held):
			fmt.Fprintf(a.stderr, "dry run (%s, %s): %d users read, %d upserts would be pushed, and %d deletes would be held: %s; nothing was changed\n",
				run.Mode, run.ModeReason, run.Fetched, run.Upserted, held.Count, held.Why)
			return nil
		case err != nil:
			return err
		}
		fmt.Fprintf(a.stderr, "dry run (%s, %s): %d users read, %d upserts and %d deletes would be pushed; nothing was changed\n",
			run.Mode, run.ModeReason, run.Fetched, run.Upserted, run.Deleted)
		return nil
	}
	s, err := a.sink(db)
	if err != nil {
		return err
	}
	pusher := engine.NewPusher(db, s, c.ID, a.clock(), a.logger())
	stop := pusher.Start(ctx)
	ui := a.progress(c.Name)
	o.Committed, o.Progress = pusher.Kick, ui.update
	run, runErr := eng.Run(ctx, c, prov, o)
	ui.finish()
	drainErr := pusher.Drain(ctx, pushPatience)
	_ = stop() // a permanent error is what Drain returned
	return a.report(db, c, run, runErr, drainErr)
}

// report prints a run's summary and turns its outcome into the command's.
func (a *app) report(db *store.DB, c connector.Config, run store.Run, runErr, drainErr error) error {
	if run.ID != "" {
		a.summary(run)
	}
	var waiting int
	_ = db.View(func(tx *store.Tx) error { waiting = tx.OutboxRecords(c.ID); return nil })
	var held *engine.HeldError
	switch {
	case errors.As(runErr, &held):
		// The upserts went (or wait in the outbox like any); the deletes
		// wait for an admin: one line with the count, why and the way out.
		if drainErr != nil {
			return fmt.Errorf("run held %d deletes of %q: %s; %s (and %d changes wait in the outbox: %w)",
				held.Count, c.Name, held.Why, held.Hint, waiting, drainErr)
		}
		return fmt.Errorf("run held %d deletes of %q: %s; %s", held.Count, c.Name, held.Why, held.Hint)
	case runErr != nil:
		if waiting > 0 {
			return fmt.Errorf("run failed: %w (%d changes wait in the outbox)", runErr, waiting)
		}
		return fmt.Errorf("run failed: %w", runErr)
	case drainErr != nil:
		return fmt.Errorf("%d changes wait in the outbox and will be delivered by the next run or the service: %w", waiting, drainErr)
	}
	return nil
}

func (a *app) summary(r store.Run) {
	deleted := fmt.Sprintf("%d deleted", r.Deleted)
	if r.Held > 0 {
		deleted = fmt.Sprintf("%d deletes held", r.Held)
	}
	fmt.Fprintf(a.stderr, "%s run (%s) %s in %s: %d users read, %d upserted, %s; %d API calls, %d rate-limit waits (%s)\n",
		r.Mode, r.ModeReason, r.Result, r.End.Sub(r.Start).Round(time.Millisecond), r.Fetched, r.Upserted, deleted,
		r.APICalls, r.RateLimitWaits, r.RateLimitWait.Round(time.Millisecond))
	for _, w := range r.Warnings {
		fmt.Fprintln(a.stderr, "warning: "+w)
	}
}

// progressUI shows a run's progress on a terminal, and nothing elsewhere.
type progressUI struct {
	bar   *progressbar.ProgressBar
	start time.Time
}

func (a *app) progress(name string) *progressUI {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progressUI{}
	}
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription(name),
		progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	return &progressUI{bar: bar, start: time.Now()}
}

func (u *progressUI) update(p engine.Progress) {
	if u.bar == nil {
		return
	}
	rate := float64(p.Fetched) / max(time.Since(u.start).Seconds(), 0.001)
	u.bar.Describe(fmt.Sprintf("%d users (%d pages, %.0f/s), %d upserts, %d deletes, %d API calls, %d rate-limit waits",
		p.Fetched, p.Pages, rate, p.Upserts, p.Deletes, p.Stats.Calls, p.Stats.RateLimitWaits))
	_ = u.bar.Set(p.Fetched)
}

func (u *progressUI) finish() {
	if u.bar != nil {
		_ = u.bar.Finish()
	}
}

// lineEncoder prints dry-run changes as JSON lines.
type lineEncoder struct{ w io.Writer }

func newLineEncoder(w io.Writer) *lineEncoder { return &lineEncoder{w: w} }

func (l *lineEncoder) change(ch engine.Change) {
	var line []byte
	if ch.Reason != "" {
		line, _ = json.Marshal(struct {
			Delete string `json:"delete"`
			Reason string `json:"reason"`
			Held   bool   `json:"held,omitempty"`
		}{ch.SourceID, ch.Reason, ch.Held})
	} else {
		line, _ = json.Marshal(struct {
			Upsert     string          `json:"upsert"`
			Attributes json.RawMessage `json:"attributes"`
		}{ch.SourceID, ch.Attributes})
	}
	_, _ = l.w.Write(append(line, '\n'))
}
