package engine

import (
	"fmt"
	"strings"

	"neurons-connector/sink"
	"neurons-connector/store"
)

// replaceRejected is how a resend gets past a batch the sink refused for
// good (400, store.Rejection). The contract forbids sending that batch
// unchanged again, and it holds the value the sink refused even after an
// admin has put it right at the source or in the mapping, so every later
// batch waited behind it for good. A resend sends every selected user's
// current record, which supersedes every upsert waiting in the outbox; so
// the waiting batches are removed, and their deletes (which a resend
// would not send again: those users are gone from the snapshot) are
// queued anew as the run's first batch, in the same transaction. Only
// when the refused batch is still the first in line: then the pusher is
// stopped on it, and nothing in the outbox is being sent.
func (p *pass) replaceRejected() error {
	var seqs []uint64
	var carried, dropped []sink.Delete
	var refused store.Rejection
	err := p.e.DB.View(func(tx *store.Tx) error {
		rej, ok := tx.Rejection(p.c.ID)
		if !ok {
			return nil
		}
		head, ok, err := tx.PeekOutbox(p.c.ID)
		if err != nil || !ok || head.Seq != rej.Seq {
			return err
		}
		refused = rej
		return forEachWaiting(tx, p.c.ID, func(e store.OutboxEntry, b *sink.Batch) error {
			seqs = append(seqs, e.Seq)
			if e.Seq == rej.Seq && len(b.Upserts) == 0 {
				// The sink refused a batch of deletes alone: the deletes
				// are what it refuses, and sent again they would be
				// refused again, resend after resend.
				dropped = b.Deletes
				return nil
			}
			carried = append(carried, b.Deletes...)
			return nil
		})
	})
	if err != nil || len(seqs) == 0 {
		return err
	}
	err = p.update(func(tx *store.Tx) error {
		b := p.newBatcher()
		for _, d := range carried {
			if err := b.delete(d.SourceID, d.Reason); err != nil {
				return err
			}
		}
		if err := b.flush(false); err != nil {
			return err
		}
		if err := b.enqueue(tx); err != nil {
			return err
		}
		for _, seq := range seqs {
			if err := tx.RemoveOutbox(p.c.ID, seq); err != nil {
				return err
			}
		}
		return tx.ClearRejection(p.c.ID)
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("this resend replaced batch %s, which the sink refused, and the %d batches behind it: their upserts go again "+
		"with every selected user, their %d deletes as the run's first batch", refused.Key, len(seqs)-1, len(carried))
	p.warnings = append(p.warnings, msg)
	p.e.Log.Warn(msg, "connector", p.c.Name)
	if len(dropped) > 0 {
		msg := fmt.Sprintf("this resend dropped %d %s the sink refused (%s): Neurons may still hold %s; check %s there",
			len(dropped), them(len(dropped), "delete", "deletes"), sourceIDs(dropped, 10), them(len(dropped), "the user", "those users"), them(len(dropped), "it", "them"))
		p.warnings = append(p.warnings, msg)
		p.e.Log.Warn(msg, "connector", p.c.Name)
	}
	return nil
}

// forEachWaiting calls fn with each batch waiting in the connector's
// outbox, oldest first, decoded.
func forEachWaiting(tx *store.Tx, connID string, fn func(e store.OutboxEntry, b *sink.Batch) error) error {
	return tx.ForEachOutbox(connID, func(e store.OutboxEntry) error {
		body, err := sink.Payload(e.Batch).JSON()
		if err != nil {
			return fmt.Errorf("read waiting batch %s: %w", e.Key, err)
		}
		b, err := sink.Parse(e.Key, body)
		if err != nil {
			return fmt.Errorf("read waiting batch %s: %w", e.Key, err)
		}
		return fn(e, b)
	})
}

// waitingDeletes are the users the deletes waiting in the connector's
// outbox remove, with the status each had as far as the run can tell:
// one of the selected statuses for a user deleted at the source (so that
// a full pass that puts the user back asks the provider about it), none
// for a user who left the selection.
func waitingDeletes(tx *store.Tx, connID string, selected []string) (map[string]string, error) {
	out := map[string]string{}
	err := forEachWaiting(tx, connID, func(_ store.OutboxEntry, b *sink.Batch) error {
		for _, d := range b.Deletes {
			status := ""
			if d.Reason == sink.ReasonDeletedAtSource && len(selected) > 0 {
				status = selected[0]
			}
			out[d.SourceID] = status
		}
		return nil
	})
	return out, err
}

// sourceIDs lists the deletes' users, the first most of them.
func sourceIDs(ds []sink.Delete, most int) string {
	ids := make([]string, 0, min(len(ds), most))
	for _, d := range ds[:min(len(ds), most)] {
		ids = append(ids, d.SourceID)
	}
	out := strings.Join(ids, ", ")
	if len(ds) > most {
		out += fmt.Sprintf(" and %d more", len(ds)-most)
	}
	return out
}

func them(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
