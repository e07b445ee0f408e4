package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/klauspost/compress/s2"
)

// A connector's snapshot is what it delivered to the sink it delivers to
// now. When it moves to another sink (the CSV drop, then Neurons; a test
// tenant, then production) the first run there resends every selected
// user; the users the old sink holds are remembered here, under the state
// bucket's "<id>/former/<sink>" (a hash of the sink's name), so that a move
// back is exact: the users the old sink still holds but the source has
// since deleted are put back in the snapshot, and the resend's full pass,
// not finding them, deletes them there. Without it, a connector moved away
// and back left every user deleted in between in that sink for good.

// formerPrefix is where a connector's former sinks are kept.
func formerPrefix(connID string) string { return connID + "/former/" }

func formerKey(connID, sink string) []byte {
	sum := sha256.Sum256([]byte(sink))
	return []byte(formerPrefix(connID) + hex.EncodeToString(sum[:8]))
}

// formerPlaceholder is the hash of a user put back from a former sink: not
// zero, so that the user counts as delivered, and no record's hash, so
// that the user is sent again however it reads now.
var formerPlaceholder = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}

// LeaveSink remembers the users the connector's snapshot says sink holds
// (their IDs and statuses), before the connector moves to another sink,
// and the users whose deletes wait for it in the outbox (waiting: ID to
// status), which the snapshot no longer has but the sink still holds.
func (t *Tx) LeaveSink(connID, sink string, waiting map[string]string) error {
	var list bytes.Buffer
	add := func(id, status string) {
		list.WriteString(id)
		list.WriteByte('\t')
		list.WriteString(status)
		list.WriteByte('\n')
	}
	err := t.ForEachSnapshot(connID, func(id string, s Snapshot) error {
		if s.Delivered() {
			add(id, s.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(waiting))
	for id := range waiting {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, found, err := t.Snapshot(connID, id); err != nil || found {
			if err != nil {
				return err
			}
			continue // queued again since (a user restored)
		}
		add(id, waiting[id])
	}
	return t.bucket(bucketState).Put(formerKey(connID, sink), s2.Encode(nil, list.Bytes()))
}

// ReturnToSink puts back in the connector's snapshot the users sink held
// when the connector left it and the snapshot no longer has, and forgets
// them there. It returns how many it put back.
func (t *Tx) ReturnToSink(connID, sink string) (int, error) {
	b := t.bucket(bucketState)
	key := formerKey(connID, sink)
	v := b.Get(key)
	if v == nil {
		return 0, nil
	}
	list, err := s2.Decode(nil, v)
	if err != nil {
		return 0, fmt.Errorf("connector %s: the users of %s are unreadable: %w", connID, sink, err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(list))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		id, status, ok := strings.Cut(sc.Text(), "\t")
		if !ok || id == "" {
			continue
		}
		if _, found, err := t.Snapshot(connID, id); err != nil || found {
			if err != nil {
				return n, err
			}
			continue
		}
		if err := t.PutSnapshot(connID, id, Snapshot{Hash: formerPlaceholder, Status: status}); err != nil {
			return n, err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	return n, b.Delete(key)
}

// forgetFormerSinks removes what the connector remembers of its former
// sinks.
func (t *Tx) forgetFormerSinks(connID string) error {
	b := t.bucket(bucketState)
	prefix := []byte(formerPrefix(connID))
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
