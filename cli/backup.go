package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"neurons-connector/internal/diskfull"
	"neurons-connector/store"
)

func (t *tree) backupCmd() *cobra.Command {
	return declare(&cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the database to FILE, while the service runs",
		Long: `Write a consistent copy of the database to FILE (mode 0600), from one
moment of it, while the service goes on running and syncing: a copy of the file
taken with cp, tar or a backup agent while the service writes can be torn, and
restore as a damaged database. The copy is opened and read back before the
command says it is done. FILE must not exist yet; its folder must.

The copy holds the connectors' secrets sealed with the data directory's
secret.key (or NC_SECRET_KEY): keep the key too, apart from the copy, or the
secrets will not open. The CSV drop's csvstate/ needs no backup: the resend
that follows database restore writes every user again.

To restore: stop the service, run database restore FILE, start the service.`,
		Example: `  sudo neurons-connector database backup /var/backups/neurons-connector-$(date +%F).db`,
		Args:    needArgs(1, "the FILE to write the copy to"),
		RunE:    action(func(cmd *cobra.Command, args []string) error { return t.backup(cmd.Context(), args[0]) }),
	}, needsBackend)
}

// backup writes the copy through a temporary file beside FILE (writeAtomic),
// read back before it takes FILE's name, so that FILE never holds half a
// copy or one that does not open.
func (t *tree) backup(ctx context.Context, file string) error {
	path, err := filepath.Abs(file)
	if err != nil {
		return usagef("FILE %q: %v", file, err)
	}
	if _, err := os.Lstat(path); err == nil {
		return usagef("%s exists: give the name of a new file (a backup never overwrites one)", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return usagef("FILE %s: %v", path, err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return usagef("the folder of %s does not exist; create it first", path)
	}
	var n int64
	var info store.CopyInfo
	err = writeAtomic(path, 0o600, func(f *os.File) error {
		var err error
		if n, err = t.s.backend.Backup(ctx, f); err != nil {
			return err
		}
		if info, err = store.CheckCopy(f.Name()); err != nil {
			return &opError{err: err}
		}
		return nil
	})
	if why, ok := diskfull.Describe(err, filepath.Dir(path)); ok {
		return &opError{err: fmt.Errorf("write the copy: %s (%w)", why, err)}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(t.env.Stdout, "Wrote a copy of the database to %s (%.1f MB, %d %s, schema version %d). "+
		"Keep secret.key (or NC_SECRET_KEY) too, apart from it: the secrets in it open only with that key.\n",
		path, float64(n)/(1<<20), info.Connectors, plural(info.Connectors, "connector"), info.Schema)
	return err
}
