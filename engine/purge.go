package engine

import (
	"context"

	"neurons-connector/connector"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// Purge queues a delete (reason connector-removed) for every user the
// connector delivered, and forgets them, so that removing the connector
// afterwards leaves nothing of it in Neurons. It returns how many deletes
// it queued; the caller delivers them (Pusher) before removing.
func (e *Engine) Purge(ctx context.Context, c connector.Config, committed func()) (int, error) {
	var ids []string
	err := e.DB.View(func(tx *store.Tx) error {
		return tx.ForEachSnapshot(c.ID, func(id string, s store.Snapshot) error {
			if s.Delivered() {
				ids = append(ids, id)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	now := e.Clock.Now()
	p := &pass{e: e, c: c, mode: Full, runID: connector.NewID("r_", now)}
	for start := 0; start < len(ids) || start == 0; start += sink.MaxRecords {
		if err := ctx.Err(); err != nil {
			return p.deletes, err
		}
		end := min(start+sink.MaxRecords, len(ids))
		err := e.DB.Update(func(tx *store.Tx) error {
			b := p.newBatcher()
			for _, id := range ids[start:end] {
				if err := b.delete(id, sink.ReasonConnectorRemoved); err != nil {
					return err
				}
				if err := tx.DeleteSnapshot(c.ID, id); err != nil {
					return err
				}
			}
			if err := b.flush(end == len(ids) && len(ids) > 0); err != nil {
				return err
			}
			return b.enqueue(tx)
		})
		if err != nil {
			return p.deletes, err
		}
		if committed != nil {
			committed()
		}
		if end == len(ids) {
			break
		}
	}
	return p.deletes, nil
}
