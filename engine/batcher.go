package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"neurons-connector/connector"
	"neurons-connector/mapping"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// batcher gathers changes into outbox batches of at most sink.MaxRecords
// records and sink.MaxBody bytes. It encodes and compresses them as they
// fill, outside any transaction; enqueue then writes them in one.
type batcher struct {
	p       *pass
	cur     sink.Batch
	size    int // bytes of the records gathered so far
	queued  int // batches made by this batcher
	pending int // records not yet in a batch
	ready   []readyBatch
	// ups gathers the current batch's upserts already encoded, and body
	// its whole body when it is packed: both reused batch after batch,
	// since the payload is a compressed copy. A dry run keeps the
	// upserts' attributes instead (arena), for its changes.
	ups   sink.Upserts
	body  []byte
	arena []byte // where a dry run's attributes are copied, a block at a time
}

type readyBatch struct {
	key     string // its Idempotency-Key (batchKey)
	records int
	payload sink.Payload
}

// batchKey names a batch for good: the connector, the run (a ULID, new at
// every run even of a database restored from a backup) and the batch's
// sequence in the run. A key made from the outbox's sequence alone would
// repeat after a restore, and the sink would take new changes for a batch
// it already holds.
func batchKey(connID, runID string, seq int) string {
	return connID + ":" + runID + ":" + strconv.Itoa(seq)
}

// bodyReserve leaves room in a batch body for its envelope.
const bodyReserve = 4 << 10

// maxAttrs is the most bytes a user's attributes may take: as much as a
// batch of that user alone can hold within the contract's body limit
// (upsert counts the same).
func maxAttrs(id string) int { return sink.MaxBody - bodyReserve - len(id) - 32 }

// namedOversized is how many users with records too large for a batch a
// run names in its warnings; the others it counts.
const namedOversized = 5

// fit leaves out the largest attributes of a user's record (size bytes of
// JSON) until it fits a batch (mapping.Record.Fit), and warns. Without
// it, the batch of that one user would be refused (413) and could not be
// split, and the connector's delivery would stop behind it for good.
func (p *pass) fit(id string, rec mapping.Record, size int) mapping.Record {
	rec, dropped := rec.Fit(maxAttrs(id))
	if p.oversized++; p.oversized <= namedOversized {
		p.warnings = append(p.warnings, fmt.Sprintf("user %s: the mapped record is %d KiB, more than a batch may hold (%d MiB), so it was "+
			"sent without its largest attributes: %s", id, size>>10, sink.MaxBody>>20, strings.Join(dropped, ", ")))
	}
	return rec
}

func (p *pass) newBatcher() *batcher { return &batcher{p: p} }

// enqueue writes the batches made so far to the outbox. The run's first
// batch marks the run open in the sync state (SyncState.Open) until its
// final batch closes it, in the same transaction each time.
func (b *batcher) enqueue(tx *store.Tx) error {
	if len(b.ready) > 0 && !b.p.opened {
		st, err := tx.SyncState(b.p.c.ID)
		if err != nil {
			return err
		}
		st.Open = b.p.runID
		b.p.e.stamp(&st)
		if err := tx.PutSyncState(b.p.c.ID, st); err != nil {
			return err
		}
		b.p.opened = true
	}
	for _, r := range b.ready {
		if _, err := tx.Enqueue(b.p.c.ID, r.key, r.records, r.payload); err != nil {
			return err
		}
	}
	b.ready = b.ready[:0]
	return nil
}

func (b *batcher) upsert(id string, attrs json.RawMessage) error {
	n := len(id) + len(attrs) + 32
	if err := b.room(n); err != nil {
		return err
	}
	if b.p.dry || b.p.opts.Change != nil {
		attrs = b.keep(attrs) // the changes outlive the caller's buffer
	}
	if !b.p.dry {
		b.ups.Add(id, attrs)
	}
	b.size += n
	b.pending++
	b.p.upserts++
	b.p.change(Change{SourceID: id, Attributes: attrs})
	return nil
}

// keep copies attrs, which the caller reuses, into the arena, for changes
// that outlive the call: one allocation for many users' records instead of
// one each. A full block is left to the slices that point into it, and a
// new one started.
func (b *batcher) keep(attrs []byte) []byte {
	const block = 256 << 10
	if len(attrs) > cap(b.arena)-len(b.arena) {
		b.arena = make([]byte, 0, max(block, len(attrs)))
	}
	start := len(b.arena)
	b.arena = append(b.arena, attrs...)
	return b.arena[start:len(b.arena):len(b.arena)]
}

func (b *batcher) delete(id, reason string) error {
	n := len(id) + len(reason) + 32
	if err := b.room(n); err != nil {
		return err
	}
	b.cur.Deletes = append(b.cur.Deletes, sink.Delete{SourceID: id, Reason: reason})
	b.size += n
	b.pending++
	b.p.deletes++
	b.p.change(Change{SourceID: id, Reason: reason})
	return nil
}

// room enqueues the current batch if n more bytes or one more record would
// not fit.
func (b *batcher) room(n int) error {
	if b.pending > 0 && (b.pending+1 > sink.MaxRecords || b.size+n > sink.MaxBody-bodyReserve) {
		return b.flush(false)
	}
	return nil
}

// flush enqueues what was gathered. With final set it enqueues even an
// empty batch: the run's end marker.
func (b *batcher) flush(final bool) error {
	if b.pending == 0 && !final {
		return nil
	}
	p := b.p
	p.seq++
	batch := b.cur
	batch.Connector = connectorOf(p.c)
	batch.Info = sink.BatchInfo{RunID: p.runID, Sequence: p.seq, Mode: string(p.mode), Final: final}
	if !p.dry {
		body, err := batch.AppendBody(b.body[:0], &b.ups)
		if err != nil {
			return err
		}
		b.body = body
		var payload sink.Payload
		if p.e.LocalSink {
			payload = sink.PackLocal(body)
		} else if payload, err = sink.Pack(body); err != nil {
			return err
		}
		b.ready = append(b.ready, readyBatch{key: batchKey(p.c.ID, p.runID, p.seq), records: b.ups.Len() + len(batch.Deletes), payload: payload})
	}
	p.batches++
	b.queued++
	b.cur, b.size, b.pending = sink.Batch{}, 0, 0
	b.ups.Reset()
	return nil
}

// connectorOf describes the connector a batch comes from.
func connectorOf(c connector.Config) sink.Connector {
	return sink.Connector{ID: c.ID, Name: c.Name, Type: string(c.Kind), Server: c.Server}
}
