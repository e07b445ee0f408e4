package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Snapshot is what the store keeps of one user between runs: the hash of
// the record last put in the outbox (zero: none yet), the user's status
// (to tell, when a full run no longer sees them, whether they left the
// selection or the provider), and the contact fields other users' manager
// mappings read.
type Snapshot struct {
	Hash               [16]byte
	Status             string
	Name, Email, Phone string
	// State is what the provider keeps of the user between runs (Okta:
	// its apps and devices), opaque to the store; kept in the snapshot, so
	// that it costs a few bytes a user rather than an index of its own.
	State string
	// Queued is when the run that last queued an upsert of the user began
	// (Unix seconds; 0 for entries written before it was kept): what
	// explain says of the user's last delivery, five bytes a user.
	Queued int64
	// Managers are the IDs of the users whose fields the user's record
	// carries (manager(FIELD) in the mapping table), comma-separated: the
	// reports a run reads again when a manager's name, e-mail or phone
	// changes. Empty for a table without manager fields, and in entries
	// written before it was kept.
	Managers string
}

// Delivered reports whether a record of the user has been queued.
func (s Snapshot) Delivered() bool { return s.Hash != [16]byte{} }

func (s Snapshot) encode() []byte {
	b := make([]byte, 0, 16+5+len(s.Status)+len(s.Name)+len(s.Email)+len(s.Phone)+len(s.State)+len(s.Managers)+12)
	b = append(b, s.Hash[:]...)
	for _, f := range []string{s.Status, s.Name, s.Email, s.Phone} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	// Each later field is written when it or one after it is set, so that
	// an older build reads the fields it knows and stops there.
	if s.State != "" || s.Queued > 0 || s.Managers != "" {
		b = binary.AppendUvarint(b, uint64(len(s.State)))
		b = append(b, s.State...)
	}
	if s.Queued > 0 || s.Managers != "" {
		b = binary.AppendUvarint(b, uint64(max(s.Queued, 0)))
	}
	if s.Managers != "" {
		b = binary.AppendUvarint(b, uint64(len(s.Managers)))
		b = append(b, s.Managers...)
	}
	return b
}

func decodeSnapshot(b []byte) (Snapshot, error) {
	var s Snapshot
	if len(b) < 16 {
		return s, errors.New("snapshot entry is damaged")
	}
	copy(s.Hash[:], b)
	b = b[16:]
	fields := []*string{&s.Status, &s.Name, &s.Email, &s.Phone, &s.State}
	for i, f := range fields {
		if i == len(fields)-1 && len(b) == 0 {
			break // no state: an entry of an older build, or a provider that keeps none
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return s, errors.New("snapshot entry is damaged")
		}
		*f = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) > 0 { // an entry that knows when it was last queued
		n, k := binary.Uvarint(b)
		if k <= 0 || n > math.MaxInt64 {
			return s, errors.New("snapshot entry is damaged")
		}
		s.Queued = int64(n)
		b = b[k:]
	}
	if len(b) > 0 { // an entry that knows the user's managers
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) != n {
			return s, errors.New("snapshot entry is damaged")
		}
		s.Managers = string(b[k:])
	}
	return s, nil
}

// Snapshot returns the connector's entry for a user.
func (t *Tx) Snapshot(connID, sourceID string) (Snapshot, bool, error) {
	b, _ := t.nested(bucketSnapshots, connID, false)
	if b == nil {
		return Snapshot{}, false, nil
	}
	v := t.lookup(b, []byte(sourceID))
	if v == nil {
		return Snapshot{}, false, nil
	}
	s, err := decodeSnapshot(v)
	if err != nil {
		return s, false, fmt.Errorf("connector %s user %s: %w", connID, sourceID, err)
	}
	return s, true, nil
}

// PutSnapshot stores a user's entry.
func (t *Tx) PutSnapshot(connID, sourceID string, s Snapshot) error {
	b, err := t.nested(bucketSnapshots, connID, true)
	if err != nil {
		return err
	}
	added, err := t.put(b, []byte(sourceID), s.encode())
	if err != nil || !added {
		return err
	}
	return b.SetSequence(b.Sequence() + 1) // a new user: one more in the count
}

// DeleteSnapshot forgets a user.
func (t *Tx) DeleteSnapshot(connID, sourceID string) error {
	b, _ := t.nested(bucketSnapshots, connID, false)
	if b == nil {
		return nil
	}
	key := []byte(sourceID)
	if t.lookup(b, key) == nil {
		return nil
	}
	if err := b.SetSequence(b.Sequence() - 1); err != nil {
		return err
	}
	return b.Delete(key)
}

// ForEachSnapshot calls fn for every user of the connector, in ID order.
// fn must not write to the snapshot.
func (t *Tx) ForEachSnapshot(connID string, fn func(sourceID string, s Snapshot) error) error {
	return t.ForEachSnapshotUnless(connID, func([]byte) bool { return false }, fn)
}

// ForEachSnapshotUnless is ForEachSnapshot for the users skip does not
// pass over. skip sees the ID's bytes (valid only during the call), so a
// scan that passes over nearly every user (a full run looking for the
// users it did not see) allocates nothing for them: decoding all of a
// large tenant's snapshots was a burst of garbage at the end of each run.
func (t *Tx) ForEachSnapshotUnless(connID string, skip func(id []byte) bool, fn func(sourceID string, s Snapshot) error) error {
	b, _ := t.nested(bucketSnapshots, connID, false)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if skip(k) {
			return nil
		}
		s, err := decodeSnapshot(v)
		if err != nil {
			return fmt.Errorf("connector %s user %s: %w", connID, k, err)
		}
		return fn(string(k), s)
	})
}

// ForEachManaged calls fn for each of the connector's users whose entry
// names managers (Snapshot.Managers), with its ID and the managers' IDs,
// both valid only during the call. Unlike ForEachSnapshot it decodes no
// other field and allocates nothing: a run looks for a changed manager's
// reports among every entry of the connector (a million, in a large org).
func (t *Tx) ForEachManaged(connID string, fn func(id, managers []byte) error) error {
	b, _ := t.nested(bucketSnapshots, connID, false)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		m, err := managersOf(v)
		if err != nil {
			return fmt.Errorf("connector %s user %s: %w", connID, k, err)
		}
		if len(m) == 0 {
			return nil
		}
		return fn(k, m)
	})
}

// errDamaged is managersOf's error, made once: it runs for every entry.
var errDamaged = errors.New("snapshot entry is damaged")

// managersOf is the Managers field of an encoded entry, skipping the
// others as decodeSnapshot reads them.
func managersOf(b []byte) ([]byte, error) {
	if len(b) < 16 {
		return nil, errDamaged
	}
	b = b[16:]
	for i := 0; i < 5; i++ { // status, name, e-mail, phone, and state, which may be absent
		if i == 4 && len(b) == 0 {
			return nil, nil
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errDamaged
		}
		b = b[k+int(n):]
	}
	if len(b) == 0 {
		return nil, nil
	}
	_, k := binary.Uvarint(b) // queued
	if k <= 0 {
		return nil, errDamaged
	}
	if b = b[k:]; len(b) == 0 {
		return nil, nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) != n {
		return nil, errDamaged
	}
	return b[k:], nil
}

// OutboxEntry is a batch waiting for the sink.
type OutboxEntry struct {
	Seq     uint64 // the connector's outbox sequence: the batch's place in line
	Key     string // the batch's Idempotency-Key, named when it was queued
	Records int    // upserts + deletes
	Batch   []byte
}

// Enqueue appends a batch of records to the connector's outbox under its
// Idempotency-Key and returns its sequence number. The key is kept with
// the batch rather than made from the sequence: a database restored from
// a backup counts its sequence again from there, and a key made from it
// would name a batch the sink accepted before (schema version 6).
func (t *Tx) Enqueue(connID, key string, records int, batch []byte) (uint64, error) {
	b, err := t.nested(bucketOutbox, connID, true)
	if err != nil {
		return 0, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := b.Put(u64(seq), outboxValue(records, key, batch)); err != nil {
		return 0, fmt.Errorf("write outbox: %w", err)
	}
	return seq, nil
}

// outboxValue is an outbox entry as stored: the record count and the
// key's length as uvarints, the key, then the batch.
func outboxValue(records int, key string, batch []byte) []byte {
	v := binary.AppendUvarint(make([]byte, 0, len(batch)+len(key)+8), uint64(records))
	v = binary.AppendUvarint(v, uint64(len(key)))
	v = append(v, key...)
	return append(v, batch...)
}

// outboxEntry decodes a stored entry; its Batch aliases v.
func outboxEntry(connID string, k, v []byte) (OutboxEntry, error) {
	seq := binary.BigEndian.Uint64(k)
	n, w := binary.Uvarint(v)
	if w > 0 {
		l, w2 := binary.Uvarint(v[w:])
		if w2 > 0 && l <= uint64(len(v)-w-w2) {
			at := w + w2
			return OutboxEntry{Seq: seq, Records: int(n), Key: string(v[at : at+int(l)]), Batch: v[at+int(l):]}, nil
		}
	}
	return OutboxEntry{}, fmt.Errorf("connector %s outbox entry %d is damaged", connID, seq)
}

// PeekOutbox returns the oldest batch of the connector, if any.
func (t *Tx) PeekOutbox(connID string) (OutboxEntry, bool, error) {
	b, _ := t.nested(bucketOutbox, connID, false)
	if b == nil {
		return OutboxEntry{}, false, nil
	}
	k, v := b.Cursor().First()
	if k == nil {
		return OutboxEntry{}, false, nil
	}
	e, err := outboxEntry(connID, k, v)
	if err != nil {
		return OutboxEntry{}, false, err
	}
	e.Batch = clone(e.Batch)
	return e, true, nil
}

// ForEachOutbox calls fn for each batch waiting in the connector's outbox,
// oldest first; the entry's Batch is valid only during the call.
func (t *Tx) ForEachOutbox(connID string, fn func(e OutboxEntry) error) error {
	b, _ := t.nested(bucketOutbox, connID, false)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		e, err := outboxEntry(connID, k, v)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// RemoveOutbox deletes a delivered batch.
func (t *Tx) RemoveOutbox(connID string, seq uint64) error {
	b, _ := t.nested(bucketOutbox, connID, false)
	if b == nil {
		return nil
	}
	return b.Delete(u64(seq))
}

// OutboxRecords is how many records (upserts and deletes) wait in the
// connector's outbox.
func (t *Tx) OutboxRecords(connID string) int {
	b, _ := t.nested(bucketOutbox, connID, false)
	if b == nil {
		return 0
	}
	total := 0
	_ = b.ForEach(func(_, v []byte) error {
		n, _ := binary.Uvarint(v)
		total += int(n)
		return nil
	})
	return total
}

// SyncState is what decides a connector's next run mode.
type SyncState struct {
	LastFull    time.Time `json:"lastFull"`    // when the last complete full run started
	ConfigHash  string    `json:"configHash"`  // of the options that change what is fetched
	MappingHash string    `json:"mappingHash"` // of the mapping table last run with
	// ContactFields are the contact fields the snapshot keeps (those the
	// mapping's manager rows read), comma-separated.
	ContactFields string `json:"contactFields"`
	// Identity is the tenant the last run that passed the deletion guard
	// read ("okta org 00o…"): a run against another one holds its deletes.
	Identity string `json:"identity,omitempty"`
	// FullPages is how many pages the last complete full pass read: it
	// bounds the listings of later passes (a next link that never ends).
	FullPages int `json:"fullPages,omitempty"`
	// Hold describes the deletes the guard holds (held/<connector id>);
	// nil when none are held.
	Hold *Hold `json:"hold,omitempty"`
	// Resend is the run that began a resend (run --resend) and has not
	// completed it: the next run resends too, so that a crash or a failure
	// does not leave some users unsent.
	Resend string `json:"resend,omitempty"`
	// Open is a run that queued batches and stopped (killed, cancelled,
	// failed) before its final batch. A sink may hold such batches back
	// until a final one (the CSV drop publishes at the end of a run), so
	// the next complete run sends a final batch even if it found nothing
	// to change.
	Open string `json:"open,omitempty"`
	// Sink is where the runs that built the snapshot sent their batches
	// (settings.Settings.SinkName): a run towards another sink resends
	// every selected user, since the new one has none of them.
	Sink string `json:"sink,omitempty"`
	// Reread are users whose name, e-mail or phone a run changed in the
	// snapshot before it read their reports again: a run that stops in
	// between leaves them to the next, which would otherwise find the
	// managers unchanged and the reports' records out of date.
	Reread []string `json:"reread,omitempty"`
}

// Hold is why and since when a connector's deletes are held.
type Hold struct {
	Count int       `json:"count"` // deletes held
	Why   string    `json:"why"`   // the guard's reason, in words
	Run   string    `json:"run"`   // the run that held them (the last one to)
	Since time.Time `json:"since"` // when that run started
	Full  bool      `json:"full"`  // held by a full run (else incremental)
}

// SyncState returns the connector's state; the zero value before any run.
func (t *Tx) SyncState(connID string) (SyncState, error) {
	var s SyncState
	v := t.bucket(bucketState).Get([]byte(connID))
	if v == nil {
		return s, nil
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return s, fmt.Errorf("decode sync state of connector %s: %w", connID, err)
	}
	return s, nil
}

// PutSyncState stores the connector's state.
func (t *Tx) PutSyncState(connID string, s SyncState) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return t.bucket(bucketState).Put([]byte(connID), data)
}

// The sinkstate bucket is where earlier versions kept the CSV drop's
// users; the CSV sink now keeps them in files and moves these out
// (ForEachSinkRecord, then DropSinkRecords). PutSinkRecord remains for the
// tests of that move.

// PutSinkRecord stores a record the CSV sink holds for a user.
func (t *Tx) PutSinkRecord(connID, sourceID string, attrs []byte) error {
	b, err := t.nested(bucketSinkState, connID, true)
	if err != nil {
		return err
	}
	return b.Put([]byte(sourceID), attrs)
}

// HasSinkRecords says whether the connector has records in sinkstate.
func (t *Tx) HasSinkRecords(connID string) bool {
	b, _ := t.nested(bucketSinkState, connID, false)
	if b == nil {
		return false
	}
	k, _ := b.Cursor().First()
	return k != nil
}

// DropSinkRecords removes the connector's records from sinkstate.
func (t *Tx) DropSinkRecords(connID string) error {
	return t.deleteNested(bucketSinkState, connID)
}

// ForEachSinkRecord calls fn for each record of the CSV sink, in ID order.
func (t *Tx) ForEachSinkRecord(connID string, fn func(sourceID string, attrs []byte) error) error {
	b, _ := t.nested(bucketSinkState, connID, false)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
}

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

// SnapshotSize is how many users the connector has delivered and not
// deleted: the count kept in the bucket's sequence, so that asking reads
// one value instead of every page of the snapshot.
func (t *Tx) SnapshotSize(id string) int {
	b, _ := t.nested(bucketSnapshots, id, false)
	if b == nil {
		return 0
	}
	return int(b.Sequence())
}

// HoldDelete keeps a user's delete back, with its reason, until a run
// delivers it or sees the user selected again.
func (t *Tx) HoldDelete(connID, sourceID, reason string) error {
	b, err := t.nested(bucketHeld, connID, true)
	if err != nil {
		return err
	}
	_, err = t.put(b, []byte(sourceID), []byte(reason)) // held in whatever order the pass found them
	return err
}

// ReleaseHeld forgets a user's held delete, if any (delivered, or the user
// was seen selected again).
func (t *Tx) ReleaseHeld(connID, sourceID string) error {
	b, _ := t.nested(bucketHeld, connID, false)
	if b == nil {
		return nil
	}
	return b.Delete([]byte(sourceID))
}

// HeldReason returns the reason of a user's held delete.
func (t *Tx) HeldReason(connID, sourceID string) (string, bool) {
	b, _ := t.nested(bucketHeld, connID, false)
	if b == nil {
		return "", false
	}
	v := b.Get([]byte(sourceID))
	return string(v), v != nil
}

// ClearHeld forgets every held delete of the connector.
func (t *Tx) ClearHeld(connID string) error {
	return t.deleteNested(bucketHeld, connID)
}

// HeldCount is how many deletes of the connector are held. It counts the
// keys (bucket statistics would miss what this transaction wrote).
func (t *Tx) HeldCount(connID string) int {
	b, _ := t.nested(bucketHeld, connID, false)
	if b == nil {
		return 0
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// ForEachHeld calls fn for each held delete, in ID order.
func (t *Tx) ForEachHeld(connID string, fn func(sourceID, reason string) error) error {
	b, _ := t.nested(bucketHeld, connID, false)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error { return fn(string(k), string(v)) })
}
