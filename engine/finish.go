package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"neurons-connector/mapping"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// finish queues what only a complete pass can know: the users whose
// manager came later, and the pass's deletes, which the deletion guard
// lets through or holds. The last transaction queues the run's final batch
// and moves the cursor; a held run moves it too (its upserts are
// delivered), and its deletes wait in the held set.
func (p *pass) finish(ctx context.Context, cursor []byte, state store.SyncState, started time.Time) error {
	if err := p.fixManagers(ctx); err != nil {
		return err
	}
	if p.mode == Full {
		// The provider's per-pass data (an Okta full pass holds every
		// user's apps and devices) is garbage now. Hand it back to the OS
		// before the scan below maps the whole snapshot into memory, so
		// that the two do not add up to the run's peak.
		debug.FreeOSMemory()
	}
	dels, err := p.removals()
	if err != nil {
		return err
	}
	if dels, err = p.confirmAbsent(ctx, dels); err != nil {
		return err
	}
	n := 0
	for _, d := range dels {
		if d.delivered {
			n++
		}
	}
	why, hint := p.guard(n)
	if why == "" {
		p.absentManagers(dels)
	}
	var held *HeldError
	if why != "" {
		held = &HeldError{Count: n, Why: why, Hint: hint}
		for _, d := range dels {
			if d.delivered {
				p.change(Change{SourceID: d.id, Reason: d.reason, Held: true})
			}
		}
	}
	// Deletes (or held deletes) in transactions of at most one batch each;
	// the cursor goes with the last.
	for start := 0; ; start += sink.MaxRecords {
		end := min(start+sink.MaxRecords, len(dels))
		last := end == len(dels)
		err := p.update(func(tx *store.Tx) error {
			b := p.newBatcher()
			if held != nil {
				if !p.dry {
					if err := p.holdAll(tx, dels[start:end], start == 0); err != nil {
						return err
					}
				}
			} else {
				for _, d := range dels[start:end] {
					if d.delivered {
						if err := b.delete(d.id, d.reason); err != nil {
							return err
						}
					}
					if err := p.delSnap(tx, d.id); err != nil {
						return err
					}
					if !p.dry {
						if err := tx.ReleaseHeld(p.c.ID, d.id); err != nil {
							return err
						}
					}
				}
			}
			if !last {
				if err := b.flush(false); err != nil {
					return err
				}
				return b.enqueue(tx)
			}
			// A final batch ends a run that queued anything, and one
			// that an earlier run left open: the sink may be waiting
			// for it to publish that run's batches (the CSV drop).
			if p.batches > 0 || b.pending > 0 || state.Open != "" {
				if err := b.flush(true); err != nil {
					return err
				}
			}
			if p.dry {
				return nil
			}
			if err := b.enqueue(tx); err != nil {
				return err
			}
			if err := tx.PutCursor(p.c.ID, store.Cursor{Value: cursor, Saved: p.e.Clock.Now().UTC()}); err != nil {
				return err
			}
			return tx.PutSyncState(p.c.ID, p.nextState(tx, state, held, started))
		})
		if err != nil {
			return err
		}
		if p.opts.Committed != nil {
			p.opts.Committed()
		}
		if last {
			break
		}
	}
	p.progress()
	if held != nil {
		return held
	}
	return nil
}

// absentManagers notes, of a full pass's deletes, the managers it found
// absent only when the listing ended (the scan: gone from the org without
// an event, or out of a status the listing no longer asks for), whose
// stored contacts it had lent to reports while listing: those reports went
// with fields their managers no longer give them. The next run reads them
// again (SyncState.Reread), when the entries are gone and the directory
// knows no such manager. A pass could not do it itself: its listing, and
// the reading again that follows it, are done before the scan. The pages'
// deletes (pendingDel) were known in time and read again already; held
// deletes (the guard) keep their entries and so their contacts. Past
// maxReread the next full run, which lends no contact it lacks, sees to it.
func (p *pass) absentManagers(dels []removal) {
	for _, d := range dels {
		if _, lent := p.borrowed[idHash(d.id)]; !lent { // a collision reads again reports of no one
			continue
		}
		if _, paged := p.pendingDel[d.id]; !paged {
			p.next = append(p.next, d.id)
		}
	}
	if len(p.next) > maxReread {
		p.next = nil
	}
}

// nextState is the sync state a completed pass leaves.
func (p *pass) nextState(tx *store.Tx, state store.SyncState, held *HeldError, started time.Time) store.SyncState {
	state.ConfigHash, state.MappingHash = ConfigHash(p.c), p.table.Hash()
	state.Resend = "" // every selected user is queued by now
	if p.resend {
		// Batches the sink acknowledged short before this resend began
		// are made good by it.
		_ = tx.ClearShortfall(p.c.ID, started)
	}
	state.Open = "" // the final batch is queued with this state
	// Their reports were read again, or wait for a full run (again); the
	// managers the end of a full pass found gone are the next run's.
	state.Reread = p.next
	p.e.stamp(&state)
	state.ContactFields = strings.Join(p.contactFields, ",")
	if p.mode == Full {
		state.LastFull = started
		state.FullPages = p.pages
		if held == nil {
			// Everything the pass did not delete it saw selected: no
			// delete stays held.
			_ = tx.ClearHeld(p.c.ID)
		}
	}
	// The tenant is taken as the connector's once a run against it passed
	// the guard (or held for another reason than the tenant).
	if p.identity != "" && (held == nil || p.lastIdentity == "" || p.identity == p.lastIdentity) {
		state.Identity = p.identity
	}
	switch count := tx.HeldCount(p.c.ID); {
	case count == 0:
		state.Hold = nil
	case held != nil:
		state.Hold = &store.Hold{Count: count, Why: held.Why, Run: p.runID, Since: started, Full: p.mode == Full}
	case state.Hold == nil:
		state.Hold = &store.Hold{Count: count, Why: "held by an earlier run", Run: p.runID, Since: started}
	default:
		state.Hold.Count = count // an incremental run released some
	}
	return state
}

// findOutside asks the provider, outside any transaction, for the managers
// of chunk that the snapshot does not know: managers outside the selected
// statuses. Each is asked for once per run, found or not.
func (p *pass) findOutside(ctx context.Context, chunk []spilled) error {
	finder, ok := p.provider.(UserFinder)
	if !ok {
		return nil
	}
	var ask []string
	err := p.e.DB.View(func(tx *store.Tx) error {
		dir := &directory{p: p, tx: tx}
		for _, e := range chunk {
			for _, ref := range e.Refs {
				if _, asked := p.outside[ref.ID]; asked {
					continue
				}
				if _, ok := dir.Contact(ref.ID); !ok {
					ask = append(ask, ref.ID)
					p.outside[ref.ID] = mapping.Contact{}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ask {
		u, found, err := finder.FindUser(ctx, id)
		if err != nil {
			return fmt.Errorf("manager %s: %w", id, err)
		}
		if found {
			rec := p.table.Apply(u.Raw, nil)
			p.outside[id] = mapping.ContactOf(rec).Keep(p.contactFields)
		}
	}
	return nil
}

// fixManagers queues the spilled users with their managers' fields, in
// transactions of one batch each.
func (p *pass) fixManagers(ctx context.Context) error {
	if p.mode == Full {
		p.staleContacts = false // the pass has rewritten every contact
	}
	var chunk []spilled
	var sets []mapping.Set
	var buf []byte
	queued := p.queued // those queued by it or by reading again: an ID spilled twice, or also read again, is queued once
	// One batcher for every chunk, each of which it leaves empty: its
	// buffers grow to a batch's size once (a batcher a chunk grew 3 MB by
	// doubling for each, where half of a real org's first run is spilled).
	b := p.newBatcher()
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := p.findOutside(ctx, chunk); err != nil {
			return err
		}
		err := p.update(func(tx *store.Tx) error {
			dir := &directory{p: p, tx: tx}
			for _, e := range chunk {
				sets = sets[:0]
				for _, ref := range e.Refs {
					if c, ok := dir.Contact(ref.ID); ok {
						sets = append(sets, mapping.Set{Name: ref.Target, Value: c.Field(ref.Field)})
					}
				}
				attrs, err := completed(buf[:0], e.Attrs, sets)
				if err != nil {
					return err
				}
				// Reused for the next: the batcher copies what it queues.
				buf = attrs
				if len(attrs) > maxAttrs(e.ID) { // a manager's fields made it too large
					rec, err := mapping.ParseRecord(attrs)
					if err != nil {
						return err
					}
					rec = p.fit(e.ID, rec, len(attrs))
					attrs = rec.AppendJSON(nil)
				}
				cur, ok, err := p.getSnap(tx, e.ID)
				if err != nil {
					return err
				}
				if _, leaving := p.pendingDel[e.ID]; !ok || leaving {
					continue // deleted, or left the selection, later in the pass: nothing to queue
				}
				// Compared with the entry as it is now, not as it was when
				// spilled: a user spilled twice (listed twice, or a report
				// read again whose manager left) is queued once.
				hash := p.hasher.sum(attrs)
				if !e.Known && !queued[e.ID] || !p.hasher.same(cur.Hash, hash, attrs) || p.resend && !queued[e.ID] {
					if err := b.upsert(e.ID, attrs); err != nil {
						return err
					}
					cur.Queued = p.started
					queued[e.ID] = true
				}
				cur.Hash = hash
				if err := p.putSnap(tx, e.ID, cur); err != nil {
					return err
				}
			}
			if err := b.flush(false); err != nil || p.dry {
				return err
			}
			return b.enqueue(tx)
		})
		chunk = chunk[:0]
		p.e.DB.TrimMapped(maxMapped) // the spilled users are spread over the whole snapshot
		if err == nil && p.opts.Committed != nil {
			p.opts.Committed()
		}
		return err
	}
	err := p.spill.each(func(e spilled) error {
		chunk = append(chunk, e)
		if len(chunk) == sink.MaxRecords {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// completed is a spilled record with its managers' fields set, appended to
// dst. The record's members are copied as they are (mapping.AppendWith);
// one that a table's targets would make AppendWith refuse (a name that
// needs an escape) is parsed and encoded again.
func completed(dst, attrs []byte, sets []mapping.Set) ([]byte, error) {
	if out, ok := mapping.AppendWith(dst, attrs, sets); ok {
		return out, nil
	}
	rec, err := mapping.ParseRecord(attrs)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		rec = rec.With(s.Name, s.Value)
	}
	return rec.AppendJSON(dst), nil
}
