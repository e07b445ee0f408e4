package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"neurons-connector/api"
	"neurons-connector/engine"
	"neurons-connector/local"
)

func (t *tree) runCmd() *cobra.Command {
	var full, dry, confirm, resend bool
	cmd := &cobra.Command{
		Use:   "run NAME [--full] [--dry-run] [--confirm-deletes] [--resend]",
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

--resend runs in full and sends every selected user again, changed or not: for the
day Neurons restores from a backup, or when you suspect it drifted from the
provider. It goes through the outbox and the deletion guard like any run, its
batches carry new idempotency keys (the content is sent again on purpose), and
status marks it. A resend that stops halfway (a crash, a failure) is taken up by
the next run, which resends too. A run towards another sink than the last one
(NC_NEURONS_URL set after the CSV drop, another tenant) resends by itself. When
the sink refused a batch for a value (400), put the value right at the source or
in the mapping, then resend: it replaces the refused batch and those behind it.

Exit codes: 0 all changes delivered; 1 the run failed, its deletes were held, or
changes still wait in the outbox (kept, and delivered by the next run or the
service); 2 bad usage.`,
		Example: `  neurons-connector run "Okta prod"
  neurons-connector run "Okta prod" --full
  neurons-connector run "Okta prod" --dry-run | head
  neurons-connector run "Okta prod" --confirm-deletes   # after checking why deletes were held
  neurons-connector run "Okta prod" --resend            # after Neurons restored from a backup`,
		Args: needArgs(1, "the connector's NAME"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if confirm && dry {
				return usagef("--confirm-deletes and --dry-run contradict each other: a dry run changes nothing; give one")
			}
			var ui *progressUI
			enc := json.NewEncoder(t.env.Stdout)
			res, err := t.s.backend.Run(cmd.Context(), api.RunRequest{Name: args[0], Full: full, DryRun: dry, ConfirmDeletes: confirm, Resend: resend},
				func(e api.Event) {
					switch {
					case e.Note != "":
						fmt.Fprintln(t.env.Stderr, "note: "+e.Note)
					case e.Change != nil:
						_ = enc.Encode(e.Change)
					case e.Progress != nil:
						if ui == nil {
							ui = t.progress(args[0])
						}
						ui.update(*e.Progress)
					}
				})
			if ui != nil {
				ui.finish()
			}
			if err != nil {
				return err
			}
			return t.report(args[0], res)
		}),
	}
	cmd.Flags().BoolVar(&full, "full", false, "read every user, not only those changed since the last run")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the changes it would push (JSON lines on stdout) and change nothing")
	cmd.Flags().BoolVar(&resend, "resend", false, "run in full and send every selected user again, changed or not (after Neurons restored from a backup)")
	cmd.Flags().BoolVar(&confirm, "confirm-deletes", false, "run in full and let this run's deletes through the deletion guard (--max-deletes, an empty listing, another tenant)")
	return declare(cmd, needsBackend)
}

// report prints a run's summary and turns its outcome into the command's.
func (t *tree) report(name string, res api.RunResult) error {
	if res.DryRun {
		return t.dryReport(res)
	}
	if res.Run != nil {
		t.summary(*res.Run)
	}
	if res.NotAccepted > 0 {
		fmt.Fprintf(t.env.Stderr, "warning: the sink acknowledged %d fewer records than it was sent; %s\n", res.NotAccepted, local.NotAcceptedFix(name))
	}
	waiting := backlog(res)
	switch {
	case res.Held != nil:
		// The upserts went (or wait in the outbox like any); the deletes
		// wait for an admin: one line with the count, why and the way out.
		h := res.Held
		if res.DrainError != "" {
			return fmt.Errorf("run held %d deletes of %q: %s; %s (and %s in the outbox: %s)",
				h.Count, name, h.Why, h.Hint, waiting, res.DrainError)
		}
		return fmt.Errorf("run held %d deletes of %q: %s; %s", h.Count, name, h.Why, h.Hint)
	case res.Error != "":
		if res.Waiting > 0 || res.WaitingBatches > 0 {
			return fmt.Errorf("run failed: %s (%s in the outbox)", res.Error, waiting)
		}
		return fmt.Errorf("run failed: %s", res.Error)
	case res.Refused:
		return fmt.Errorf("the sink refused a batch, and %s in the outbox behind it: %s; %s", waiting, res.DrainError,
			local.RefusedFix(name))
	case res.DrainError != "":
		return fmt.Errorf("%s in the outbox and will be delivered by the next run or the service: %s", waiting, res.DrainError)
	}
	return nil
}

// backlog says what waits in the outbox: "35 changes wait", or, when the
// batches left hold no change, the run's closing batch, without which the
// sink has not taken the run as complete (the CSV drop is written when it
// arrives): "0 changes wait" would tell the admin all is well.
func backlog(res api.RunResult) string {
	switch {
	case res.Waiting == 1:
		return "1 change waits"
	case res.Waiting > 0 || res.WaitingBatches == 0:
		return fmt.Sprintf("%d changes wait", res.Waiting)
	}
	return "the run's closing batch, which tells the sink that the run is complete (the CSV drop is written when it arrives), waits"
}

// dryReport is a dry run's one line on stderr.
func (t *tree) dryReport(res api.RunResult) error {
	if res.Error != "" {
		return fmt.Errorf("dry run failed: %s", res.Error)
	}
	var r api.Run
	if res.Run != nil {
		r = *res.Run
	}
	if h := res.Held; h != nil {
		fmt.Fprintf(t.env.Stderr, "dry run (%s, %s): %s read, %s would be pushed, and %s would be held: %s; nothing was changed\n",
			r.Mode, r.ModeReason, count(r.Fetched, "user"), count(r.Upserted, "upsert"), count(h.Count, "delete"), h.Why)
		return nil
	}
	fmt.Fprintf(t.env.Stderr, "dry run (%s, %s): %s read, %s and %s would be pushed; nothing was changed\n",
		r.Mode, r.ModeReason, count(r.Fetched, "user"), count(r.Upserted, "upsert"), count(r.Deleted, "delete"))
	return nil
}

func (t *tree) summary(r api.Run) {
	deleted := fmt.Sprintf("%d deleted", r.Deleted)
	if r.Held > 0 {
		deleted = count(r.Held, "delete") + " held"
	}
	fmt.Fprintf(t.env.Stderr, "%s run (%s) %s in %s: %s read%s, %d upserted, %s; %s, %s (%s)\n",
		r.Mode, r.ModeReason, r.Result, r.End.Sub(r.Start).Round(time.Millisecond), count(r.Fetched, "user"), rereadNote(r.Reread), r.Upserted, deleted,
		count(r.APICalls, "API call"), count(r.RateLimitWaits, "rate-limit wait"), r.RateLimitWait)
	for _, w := range r.Warnings {
		fmt.Fprintln(t.env.Stderr, "warning: "+w)
	}
}

// rereadNote says how many reports a run read again for their managers'
// changes, which explains upserts beyond the users read.
func rereadNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d again: reports whose manager changed)", n)
}

// progressUI shows a run's progress on a terminal, and nothing elsewhere.
type progressUI struct {
	bar   *progressbar.ProgressBar
	start time.Time
	line  *lineWriter // the command's stderr, told of the bar
}

func (t *tree) progress(name string) *progressUI {
	out := t.env.Stderr
	lw, _ := out.(*lineWriter)
	if lw != nil {
		out = lw.w
	}
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progressUI{}
	}
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(out), progressbar.OptionSetDescription(name),
		progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	if lw != nil {
		lw.show(bar)
	}
	return &progressUI{bar: bar, start: time.Now(), line: lw}
}

func (u *progressUI) update(p engine.Progress) {
	if u.bar == nil {
		return
	}
	u.bar.Describe(progressText(p, time.Since(u.start), time.Now()))
	_ = u.bar.Set(p.Fetched)
}

// progressText is the progress line: users and pages once they come (API
// calls before: the apps and devices sweep), and what the run waits for.
func progressText(p engine.Progress, elapsed time.Duration, now time.Time) string {
	var text string
	if p.Pages == 0 {
		text = fmt.Sprintf("reading (%s so far)", count(p.Stats.Calls, "API call"))
	} else {
		rate := float64(p.Fetched) / max(elapsed.Seconds(), 0.001)
		text = fmt.Sprintf("%s (%s, %.0f/s), %s, %s, %s", count(p.Fetched, "user"), count(p.Pages, "page"), rate,
			count(p.Upserts, "upsert"), count(p.Deletes, "delete"), count(p.Stats.Calls, "API call"))
	}
	if p.Stats.RateLimitWait > 0 {
		text += fmt.Sprintf(", %s waited on rate limits", p.Stats.RateLimitWait.Round(time.Second))
	}
	if p.Stats.WaitingFor != "" && p.Stats.WaitingUntil.After(now) {
		text += fmt.Sprintf("; waiting for %s until %s (%s)", p.Stats.WaitingFor,
			p.Stats.WaitingUntil.Local().Format(time.TimeOnly), p.Stats.WaitingUntil.Sub(now).Round(time.Second))
	}
	return text
}

func (u *progressUI) finish() {
	if u.bar != nil {
		_ = u.bar.Finish()
	}
	if u.line != nil {
		u.line.show(nil)
	}
}

// lineWriter is a command's stderr: while a progress line shows, it ends
// that line before anything else is written there (a log line, a note),
// so nothing lands glued to it; the progress line comes back with its
// next update.
type lineWriter struct {
	w    io.Writer // the stream itself, which the progress bar writes to
	text io.Writer // w, for everything else (inertWriter)
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{w: w, text: inertWriter{w}} }

func (l *lineWriter) show(bar *progressbar.ProgressBar) {
	l.mu.Lock()
	l.bar = bar
	l.mu.Unlock()
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	bar := l.bar
	l.mu.Unlock()
	if bar != nil {
		_ = bar.Clear()
	}
	return l.text.Write(p)
}
