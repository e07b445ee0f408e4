package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Rejection is a batch the sink refused for good (400): the pusher stopped
// on it, and every later batch waits behind it. It is kept beside the
// connector's sync state (under rejectionKey, not in SyncState: the pusher
// writes it while a run holds a copy of that state) until the batch
// leaves the outbox, delivered after a fix on the sink's side or replaced
// by a resend.
type Rejection struct {
	Seq     uint64    `json:"seq"`     // the batch's place in the outbox
	Key     string    `json:"key"`     // its Idempotency-Key
	Records int       `json:"records"` // upserts + deletes in it
	Error   string    `json:"error"`   // the sink's answer, in words
	At      time.Time `json:"at"`
}

// rejectionKey is where a connector's rejection is kept in the state
// bucket, beside its sync state (connector IDs hold no slash).
func rejectionKey(connID string) []byte { return []byte(connID + "/rejected") }

// PutRejection records that the sink refused the connector's batch r.Seq,
// if that batch is still in the outbox (a resend may have replaced it
// while the sink was answering).
func (t *Tx) PutRejection(connID string, r Rejection) error {
	b, _ := t.nested(bucketOutbox, connID, false)
	if b == nil || b.Get(u64(r.Seq)) == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := t.bucket(bucketState).Put(rejectionKey(connID), data); err != nil {
		return fmt.Errorf("record the rejected batch: %w", err)
	}
	return nil
}

// Rejection returns the connector's recorded rejection, if any.
func (t *Tx) Rejection(connID string) (Rejection, bool) {
	var r Rejection
	return r, t.sideValue(rejectionKey(connID), &r)
}

// ClearRejection forgets the connector's rejection.
func (t *Tx) ClearRejection(connID string) error {
	return t.bucket(bucketState).Delete(rejectionKey(connID))
}

// sideValue decodes the JSON kept under key beside the sync states into v;
// false when there is none (or it does not decode).
func (t *Tx) sideValue(key []byte, v any) bool {
	data := t.bucket(bucketState).Get(key)
	return data != nil && json.Unmarshal(data, v) == nil
}

// Shortfall counts records the sink acknowledged fewer of than a batch
// held ({"accepted": N} with N too small): the contract's N is what was
// durably accepted, so some users may be missing from the sink. The
// batches count as delivered; this is kept (under shortfallKey) for status
// until a resend that began after the last of them completes.
type Shortfall struct {
	Records   int       `json:"records"`   // records not accepted, in all
	Batches   int       `json:"batches"`   // batches that came short
	LastBatch string    `json:"lastBatch"` // the last one's Idempotency-Key
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

func shortfallKey(connID string) []byte { return []byte(connID + "/short") }

// AddShortfall adds a batch whose acknowledgement came missing records.
func (t *Tx) AddShortfall(connID, key string, missing int, at time.Time) error {
	sf, ok := t.Shortfall(connID)
	if !ok {
		sf.First = at
	}
	sf.Records += missing
	sf.Batches++
	sf.LastBatch, sf.Last = key, at
	data, err := json.Marshal(sf)
	if err != nil {
		return err
	}
	return t.bucket(bucketState).Put(shortfallKey(connID), data)
}

// Shortfall returns the connector's shortfall, if any.
func (t *Tx) Shortfall(connID string) (Shortfall, bool) {
	var sf Shortfall
	return sf, t.sideValue(shortfallKey(connID), &sf)
}

// ClearShortfall forgets the shortfall if its last batch came before
// since: a resend begun at since sent every selected user again.
func (t *Tx) ClearShortfall(connID string, since time.Time) error {
	if sf, ok := t.Shortfall(connID); !ok || !sf.Last.Before(since) {
		return nil
	}
	return t.bucket(bucketState).Delete(shortfallKey(connID))
}
