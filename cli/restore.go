package cli

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"neurons-connector/service"
	"neurons-connector/store"
)

func (t *tree) restoreCmd() *cobra.Command {
	return declare(&cobra.Command{
		Use:   "restore FILE",
		Short: "Put a copy written by database backup in place of the database",
		Long: `Put a copy written by "database backup" (FILE) in place of the database, keeping
the database that was there beside it as neurons-connector.db.before-restore-<time>.
The service must be stopped: it holds the database. FILE is left as it is.

Every connector of the copy resends every selected user at its next run: the
sink may have received changes since the backup that the source has undone
(a user suspended and reactivated, a title changed and changed back), and runs
that compared with the copy's older snapshot would never send those users
again. Batches that were waiting in the copy's outbox are sent under their
original keys, which Neurons recognises as already delivered.

The copy's secrets must open with this data directory's secret.key (or
NC_SECRET_KEY): restore the key of the copy's host first. A copy from an older
version is brought to this version's schema; one from a later version is
refused.`,
		Example: `  sudo neurons-connector service stop
  sudo neurons-connector database restore /var/backups/neurons-connector-2026-12-04.db
  sudo neurons-connector service start`,
		Args: needArgs(1, "the FILE database backup wrote"),
		RunE: action(func(_ *cobra.Command, args []string) error { return t.restore(args[0]) }),
	}, needsSettings)
}

func (t *tree) restore(file string) error {
	from, err := filepath.Abs(file)
	if err != nil {
		return usagef("FILE %q: %v", file, err)
	}
	if st, err := os.Stat(from); err != nil || !st.Mode().IsRegular() {
		return usagef("%s is not a file: give the copy that database backup wrote", from)
	}
	// Checked before the data directory is prepared, so that a file that
	// is no copy creates nothing on a new host (Run checks it again, for
	// callers other than this command).
	if _, err := store.CheckCopy(from); err != nil {
		return usagef("%v; give a copy that database backup wrote", err)
	}
	if err := service.PrepareDataDir(t.s.cfg.DataDir); err != nil {
		return fmt.Errorf("prepare data directory: %w", err)
	}
	path := store.PathIn(t.s.cfg.DataDir)
	rep, err := store.Restore{Path: path, From: from, Key: keyFunc(t.s.cfg), Now: t.env.Now()}.Run()
	var inUse *store.InUseError
	switch {
	case errors.As(err, &inUse), errors.Is(err, store.ErrBadCopy):
		return usagef("%v; nothing was changed", err)
	case err != nil:
		return &opError{err: fmt.Errorf("restore %s: %w; nothing was changed", from, err)}
	}
	kept := "there was no database before"
	if rep.Kept != "" {
		kept = "the database that was in place is kept as " + rep.Kept
	}
	_, err = fmt.Fprintf(t.env.Stdout, "Restored the database from %s (%d %s, schema version %d); %s. "+
		"Each connector's next run resends every selected user, so that the sink matches the source again. "+
		"Start the service: neurons-connector service start\n",
		from, rep.Connectors, plural(rep.Connectors, "connector"), rep.Schema, kept)
	if err != nil {
		return err
	}
	// A copy from another host (a new server after a disaster) keeps that
	// host's server name: here its connectors would never run on schedule.
	other := map[string]int{}
	for _, s := range rep.Servers {
		if s != t.s.cfg.ServerName {
			other[s]++
		}
	}
	for _, s := range slices.Sorted(maps.Keys(other)) {
		have := "have"
		if other[s] == 1 {
			have = "has"
		}
		fmt.Fprintf(t.env.Stderr, "warning: %d %s of the copy %s the server name %q, and this host's is %q (NC_SERVER_NAME): "+
			"they run here only when asked (run NAME), not on schedule; to run them here: neurons-connector connector edit NAME --server %q, "+
			"or set NC_SERVER_NAME=%q\n", other[s], plural(other[s], "connector"), have, s, t.s.cfg.ServerName, t.s.cfg.ServerName, s)
	}
	return nil
}
