package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"neurons-connector/mapping"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// page maps, compares and queues one page. The mapping and comparing
// happen in a read transaction, the batches are encoded and compressed
// outside any, and the snapshot changes and batches of a few pages are then
// stored together in one short write transaction (commit): the pusher's
// transactions are not held up while a page is mapped.
func (p *pass) page(ctx context.Context, users []User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.complete(ctx, users); err != nil {
		return err
	}
	if p.batcher == nil {
		p.batcher = p.newBatcher()
	}
	b := p.batcher
	records, size := b.pending, b.size
	p.buffering = true
	err := p.e.DB.View(func(tx *store.Tx) error {
		dir := &directory{p: p, tx: tx}
		for _, u := range users {
			if err := p.user(tx, b, dir, u); err != nil {
				return fmt.Errorf("user %s: %w", u.ID, err)
			}
		}
		return nil
	})
	p.buffering = false
	// The next page is likely to add as much as this one did.
	p.pageRecords, p.pageSize = b.pending-records, b.size-size
	if err == nil && p.commitDue() {
		err = p.commit()
	}
	if err != nil {
		return err
	}
	p.pages++
	p.e.Log.Debug("page done", "connector", p.c.Name, "page", p.pages, "users", len(users),
		"upserts", p.upserts, "deletes", p.deletes)
	p.progress()
	return nil
}

// commitEvery bounds how long finished pages wait in memory for a commit.
// maxOverlay bounds the snapshot changes one transaction writes, and
// maxRewrites those of users already in the snapshot: a first run's new
// users come in the listing's order and fill few database pages, but
// changed users are spread over the whole snapshot, each touching a page
// of its own that bbolt holds in memory until the commit (1,000 of them
// per transaction put 60 MB on the peak of a 1,000,000-user tenant's
// incremental run).
const (
	commitEvery = time.Second
	maxOverlay  = sink.MaxRecords
	maxRewrites = 200
)

// maxMapped bounds the files a run keeps mapped (store.TrimMapped): the
// snapshot pages its reads touched, and the program's own (some 15 MB). A
// real org's first full run reads all over the snapshot, for managers that
// come anywhere in the listing and for the reports that came before them,
// and the pages it read stayed mapped: at 1,000,000 users 185 MB of a 315
// MB peak, beside a heap at its soft limit (main.go).
const maxMapped = 64 << 20

// trimEvery is how many snapshot entries a scan reads between checks of
// maxMapped: a few hundred pages.
const trimEvery = 10000

// commitDue reports whether the pages since the last commit are worth a
// transaction: when another page like the last would not fit in the batch
// (1,000 records or 5 MiB), as many snapshot changes have gathered (users
// whose manager comes later change their snapshot now and are sent when
// the pass ends), or a second has passed. A commit per page of 200 made five
// times the transactions (each synced to disk twice) and five times the
// pushes, for batches of 200 records where the contract allows 1,000;
// holding a few pages costs a crash nothing but their re-reading.
func (p *pass) commitDue() bool {
	b := p.batcher
	return len(b.ready) > 0 || b.pending > 0 && (b.pending+p.pageRecords > sink.MaxRecords ||
		b.size+p.pageSize > sink.MaxBody-bodyReserve) ||
		len(p.overlay)+len(p.removed) >= maxOverlay || p.rewrites >= maxRewrites ||
		p.e.Clock.Now().Sub(p.committed) >= commitEvery
}

// commit writes what the pages since the last commit decided: their
// snapshot changes, released holds and batches, in one transaction.
func (p *pass) commit() error {
	b := p.batcher
	if b == nil {
		return nil
	}
	err := b.flush(false)
	if err == nil && !p.dry {
		err = p.e.DB.Update(func(tx *store.Tx) error {
			if err := p.writeOverlay(tx); err != nil {
				return err
			}
			if err := p.keepChanged(tx); err != nil {
				return err
			}
			for _, id := range p.release {
				if err := tx.ReleaseHeld(p.c.ID, id); err != nil {
					return err
				}
			}
			return b.enqueue(tx)
		})
	}
	p.release = p.release[:0]
	if err != nil {
		return err
	}
	p.committed, p.rewrites = p.e.Clock.Now(), 0
	p.e.DB.TrimMapped(maxMapped)
	if b.queued > 0 && p.opts.Committed != nil {
		p.opts.Committed()
	}
	b.queued = 0
	return nil
}

// complete asks the provider for the rest of the Partial users in the
// selected statuses that the snapshot does not know; user skips the others
// (known and unchanged, or never delivered and still not selected).
func (p *pass) complete(ctx context.Context, users []User) error {
	var need []User
	var at []int // need[k] is users[at[k]]
	err := p.e.DB.View(func(tx *store.Tx) error {
		for i := range users {
			if !users[i].Partial {
				continue
			}
			if !p.selected[users[i].Status] {
				continue // known: a delete needs no more; unknown: nothing to do
			}
			if _, known, err := p.getSnap(tx, users[i].ID); err != nil {
				return err
			} else if !known {
				users[i].Partial = false
				need = append(need, users[i])
				at = append(at, i)
			}
		}
		return nil
	})
	if err != nil || len(need) == 0 {
		return err
	}
	c, ok := p.provider.(Completer)
	if !ok {
		return fmt.Errorf("the provider returned partial users but cannot complete them")
	}
	if err := c.Complete(ctx, need); err != nil { // fills the users' Raw maps, which users shares
		return err
	}
	for k, i := range at {
		users[i].State = need[k].State
	}
	return nil
}

// progress reports the figures after a page. tick reports them again
// between pages with the provider's latest counters and what it waits for,
// so a pass that sweeps or waits for minutes before its first page is seen
// to; the two never call Progress at once.
func (p *pass) progress() {
	if p.opts.Progress == nil {
		return
	}
	pr := Progress{Pages: p.pages, Fetched: p.fetched, Upserts: p.upserts, Deletes: p.deletes,
		Stats: statsOf(p.provider).Since(p.statsBefore)}
	p.progMu.Lock()
	defer p.progMu.Unlock()
	p.lastProgress = pr
	p.opts.Progress(pr)
}

func (p *pass) tick() {
	p.progMu.Lock()
	defer p.progMu.Unlock()
	pr := p.lastProgress
	pr.Stats = statsOf(p.provider).Since(p.statsBefore)
	p.opts.Progress(pr)
}

// ticking calls tick every interval until stop is called.
func (p *pass) ticking(interval time.Duration) (stop func()) {
	if p.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval) // wall time: it is for a person watching
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.tick()
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (p *pass) user(tx *store.Tx, b *batcher, dir *directory, u User) error {
	if u.Deleted {
		old, known, err := p.getSnap(tx, u.ID)
		if err == nil && known {
			// A delete, decided when the pass ends (the deletion guard).
			// Cloned: the ID may be a substring of the user's whole decoded
			// record, which the pass would otherwise keep until it ends.
			p.pendingDel[strings.Clone(u.ID)] = pendingDelete{reason: sink.ReasonDeletedAtSource, delivered: old.Delivered()}
			p.contactChanged(u.ID, old, nil)
		}
		return err
	}
	if p.rereading { // a report read again was counted when listed, if it was
		p.reread++
	} else {
		p.fetched++
		if p.mode == Full {
			p.seen = append(p.seen, idHash(u.ID))
		}
	}
	if u.Partial {
		return nil // known and unchanged since the last complete pass
	}
	old, known, err := p.getSnap(tx, u.ID)
	if err != nil {
		return err
	}
	if !p.selected[u.Status] {
		if !known {
			return nil // never delivered: nothing to take back
		}
		// A delete, decided when the pass ends (the deletion guard).
		p.pendingDel[strings.Clone(u.ID)] = pendingDelete{reason: sink.ReasonStatusNotSelected, delivered: old.Delivered()}
		p.contactChanged(u.ID, old, nil)
		return nil
	}
	delete(p.pendingDel, u.ID) // seen again in the selection after all
	if p.anyHeld && known {
		p.release = append(p.release, u.ID) // a held delete of this user is void now
	}
	dir.missed = false
	p.rec = p.table.AppendTo(p.rec, u.Raw, dir)
	contact := mapping.ContactOf(p.rec).Keep(p.contactFields) // only what managers' reports read
	next := store.Snapshot{Hash: old.Hash, Status: u.Status, Name: contact.Name, Email: contact.Email, Phone: contact.Phone,
		State: old.State, Queued: old.Queued}
	if len(p.contactFields) > 0 {
		next.Managers = p.table.ManagerIDs(u.Raw)
		p.contactChanged(u.ID, old, &next) // old is the zero entry for a user the snapshot does not know
	}
	if u.State != nil {
		next.State = string(u.State) // a state changed alone rewrites the snapshot, and sends nothing
	}
	// Encoded into memory reused for every user: most users of a run are
	// unchanged and only hashed; the batcher copies those it sends.
	p.attrs = p.rec.AppendJSON(p.attrs[:0])
	if len(p.attrs) > maxAttrs(u.ID) {
		p.rec = p.fit(u.ID, p.rec, len(p.attrs))
		p.attrs = p.rec.AppendJSON(p.attrs[:0])
	}
	attrs := p.attrs
	if dir.missed {
		// The manager may come later in this pass: queue the user when the
		// pass ends, with the manager's fields filled in.
		if refs := p.table.ManagerRefs(u.Raw); len(refs) > 0 {
			if err := p.spill.add(spilled{ID: u.ID, Known: known, Attrs: attrs, Refs: refs}); err != nil {
				return err
			}
			p.rewrote(known)
			return p.putSnap(tx, u.ID, next) // contact and status now, hash when queued
		}
	}
	next.Hash = p.hasher.sum(attrs)
	// A report read again was queued by this pass already if a resend
	// listed it: sent again only if its record changed since.
	resend := p.resend && !p.rereading
	if known && old == next && !resend {
		return nil // unchanged: costs nothing downstream
	}
	if !known || !p.hasher.same(old.Hash, next.Hash, attrs) || resend {
		if err := b.upsert(u.ID, attrs); err != nil {
			return err
		}
		next.Queued = p.started
		if p.rereading {
			// It may be spilled too, unknown when listed (a report new to
			// the connector that came before its manager, new too): it is
			// not queued again when the spilled are (fixManagers).
			p.queued[strings.Clone(u.ID)] = true
		}
	}
	p.rewrote(known)
	return p.putSnap(tx, u.ID, next)
}

// rewrote counts a snapshot change of a user the snapshot knew (see
// maxRewrites).
func (p *pass) rewrote(known bool) {
	if known {
		p.rewrites++
	}
}
