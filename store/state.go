package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Cursor is a provider's position for incremental runs. Value is opaque to
// the store; Saved says how old it is.
type Cursor struct {
	Value []byte    `json:"value"`
	Saved time.Time `json:"saved"`
}

// Cursor returns the connector's cursor; ok is false when there is none yet.
func (t *Tx) Cursor(id string) (c Cursor, ok bool, err error) {
	v := t.bucket(bucketCursors).Get([]byte(id))
	if v == nil {
		return Cursor{}, false, nil
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return Cursor{}, false, fmt.Errorf("decode cursor of connector %s: %w", id, err)
	}
	return c, true, nil
}

// PutCursor stores the connector's cursor.
func (t *Tx) PutCursor(id string, c Cursor) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := t.bucket(bucketCursors).Put([]byte(id), data); err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	return nil
}

// OutboxDepth is how many batches of the connector wait for the sink.
func (t *Tx) OutboxDepth(id string) int {
	b, _ := t.nested(bucketOutbox, id, false)
	if b == nil {
		return 0
	}
	return b.Stats().KeyN
}

// SnapshotSize is how many users the connector has delivered and not deleted.
func (t *Tx) SnapshotSize(id string) int {
	b, _ := t.nested(bucketSnapshots, id, false)
	if b == nil {
		return 0
	}
	return b.Stats().KeyN
}
