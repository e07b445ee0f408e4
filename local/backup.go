package local

import (
	"context"
	"errors"
	"io"

	"neurons-connector/api"
	"neurons-connector/store"
)

// Backup writes a consistent copy of the database to w (database backup).
func (b *Backend) Backup(_ context.Context, w io.Writer) (int64, error) {
	db, err := b.open(false)
	if errors.Is(err, store.ErrNoDatabase) {
		return 0, api.BadInput("there is no database in %s yet: nothing to back up", b.cfg.DataDir)
	}
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	return db.Backup(w)
}
