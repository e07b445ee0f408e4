package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"neurons-connector/store"
)

func (t *tree) databaseCmd() *cobra.Command {
	check := &cobra.Command{
		Use:   "check",
		Short: "Read the whole database and report damage; changes nothing",
		Long: `Read the whole database, bucket by bucket, and its list of free pages, and report
what is damaged and what salvage would keep and lose for each connector. The
service must be stopped (it holds the database). Exit code 0 when the database is
sound, 1 when it is damaged.

Copies of what can be read are written beside the database while the check runs
and removed after it, so the disk needs room for up to three more databases.`,
		Args: needArgs(0, "no arguments"),
		RunE: action(func(*cobra.Command, []string) error { return t.salvage(false) }),
	}
	salvage := &cobra.Command{
		Use:   "salvage",
		Short: "Copy what can be read of a damaged database into a new one",
		Long: `Copy everything that can still be read of a damaged database into a new file,
put it in the old one's place and keep the damaged file beside it, as
neurons-connector.db.damaged-<time>. The service must be stopped.

What depends on what was lost is repaired: a connector that lost users of its
snapshot, waiting batches, its cursor or its state resends every selected user at
its next run (deletes in lost batches cannot be recovered: users deleted at the
source before the damage may stay in Neurons); a connector whose configuration
was lost is dropped with all its data (add it again); a lost secret is reported
(set it again with connector edit). A sound database is left as it is.

Keep the data directory's secret.key: the salvaged database's secrets are sealed
with it, as before.`,
		Example: `  sudo neurons-connector service stop
  sudo neurons-connector database check
  sudo neurons-connector database salvage
  sudo neurons-connector service start`,
		Args: needArgs(0, "no arguments"),
		RunE: action(func(*cobra.Command, []string) error { return t.salvage(true) }),
	}
	return group("database", "Back up and restore the database, check a damaged one, and salvage what can be read of it",
		t.backupCmd(), t.restoreCmd(), declare(check, needsSettings), declare(salvage, needsSettings))
}

// salvage runs `database check` (write false) or `database salvage`.
func (t *tree) salvage(write bool) error {
	path := store.PathIn(t.s.cfg.DataDir)
	rep, err := store.Salvage{Path: path, Write: write, Now: t.env.Now()}.Run()
	out := t.env.Stdout
	if err != nil {
		writeProblems(out, path, rep.Problems)
		return err
	}
	if rep.Sound() {
		what := "sound"
		if write {
			what = "sound; nothing to salvage"
		}
		_, err := fmt.Fprintf(out, "database %s: %s (%d connectors, %d records read)\n", path, what, len(rep.Connectors), rep.Records)
		return err
	}
	writeProblems(out, path, rep.Problems)
	if rep.Reverted != 0 {
		fmt.Fprintf(out, "The last transaction's pages are damaged, the one before (%d) is not: salvage keeps that one. "+
			"What the last one wrote (a page's worth of changes, or a delivery) the next runs find or send again.\n", rep.Reverted)
	}
	if write {
		fmt.Fprintf(out, "Salvaged %d records into a new %s; the damaged file is kept as %s.\n", rep.Records, path, rep.Damaged)
	} else {
		fmt.Fprintf(out, "What salvage would keep (%d records):\n", rep.Records)
	}
	writeSalvaged(out, rep)
	if write {
		_, err := fmt.Fprintln(out, "Check the connectors with: neurons-connector status, and neurons-connector connector test NAME")
		return err
	}
	return &opError{err: errors.New("the database is damaged: stop the service and run `neurons-connector database salvage` " +
		"(README: A damaged database)")}
}

// writeProblems lists what a salvage found wrong, if anything.
func writeProblems(out io.Writer, path string, problems []string) {
	if len(problems) == 0 {
		return
	}
	fmt.Fprintf(out, "database %s is damaged:\n", path)
	for _, p := range problems {
		fmt.Fprintf(out, "  %s\n", p)
	}
}

// writeSalvaged says, connector by connector, what was kept and lost.
func writeSalvaged(out io.Writer, rep store.SalvageReport) {
	for _, c := range rep.Connectors {
		batches := "batches"
		if c.Batches == 1 {
			batches = "batch"
		}
		fmt.Fprintf(out, "  %q: %d %s, %d %s waiting", c.Name, c.Users, plural(c.Users, "user"), c.Batches, batches)
		if len(c.Lost) == 0 {
			fmt.Fprintln(out, "; nothing lost")
			continue
		}
		fmt.Fprintf(out, "; not all read: %s", strings.Join(c.Lost, ", "))
		var then []string
		if c.Resend {
			then = append(then, "its next run resends every selected user")
		}
		for _, l := range c.Lost {
			switch l {
			case "waiting batches":
				then = append(then, "deletes in the lost batches are not sent")
			case "secrets":
				then = append(then, "set its secret again with `connector edit` if `connector test` fails")
			case "held deletes":
				then = append(then, "its next full run finds the held deletes again")
			}
		}
		if len(then) > 0 {
			fmt.Fprintf(out, " (%s)", strings.Join(then, "; "))
		}
		fmt.Fprintln(out)
	}
	for _, id := range rep.Orphans {
		fmt.Fprintf(out, "  connector %s: its configuration is lost: salvage drops its data; add it again\n", id)
	}
}
