package sink

import (
	"errors"
	"fmt"
	"os"

	"neurons-connector/store"
)

// moveLegacy moves the users that earlier versions kept in the
// database (one JSON record per user, store's sinkstate bucket) into the
// journal, where the next final batch folds them into the state, and then
// drops them from the database. Those records are the whole truth of the
// drop when they exist (this version empties the bucket the first time it
// sees it), so the journal and state are started over from them; a crash
// half-way starts over again.
func (c *CSV) moveLegacy(connID string, j *journal) error {
	if c.DB == nil {
		return nil
	}
	var has bool
	if err := c.DB.View(func(tx *store.Tx) error {
		has = tx.HasSinkRecords(connID)
		return nil
	}); err != nil || !has {
		return err
	}
	if err := j.reset(); err != nil {
		return err
	}
	if err := os.Remove(c.statePath(connID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var sb *segBuilder
	n := 0
	flush := func() error {
		err := j.add(sb.encode())
		sb = nil
		return err
	}
	err := c.DB.View(func(tx *store.Tx) error {
		return tx.ForEachSinkRecord(connID, func(id string, attrs []byte) error {
			if sb == nil {
				n++
				sb = newSegBuilder()
				sb.reset(fmt.Sprintf("moved-from-database-%d", n))
			}
			sb.begin()
			if err := eachCell(attrs, sb.cell); err != nil {
				return fmt.Errorf("user %s: %w", id, err)
			}
			sb.end(id, true)
			if len(sb.recs) == MaxRecords || len(sb.arena) > MaxBody {
				return flush()
			}
			return nil
		})
	})
	if err == nil && sb != nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("move the CSV drop's users out of the database: %w", err)
	}
	return c.DB.Update(func(tx *store.Tx) error { return tx.DropSinkRecords(connID) })
}
