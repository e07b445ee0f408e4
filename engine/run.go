package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/mapping"
	"neurons-connector/sink"
	"neurons-connector/store"
)

// Tables gives a connector's mapping table; mapping.Keeper implements it.
// A table together with an error means the current files did not load and
// the last good table is used; the run reports the error.
type Tables interface {
	Table(kind connector.Kind, id, name string) (*mapping.Table, error)
}

// Engine runs connectors against the store.
type Engine struct {
	DB     *store.DB
	Tables Tables
	Clock  clock.Clock
	Log    *slog.Logger
	// SpillDir holds the temporary files of users whose manager was mapped
	// before it was seen (the data directory).
	SpillDir string
}

// Options adjust one run.
type Options struct {
	Full   bool // a full run whatever the state says
	DryRun bool // compute the changes, write nothing
	// Committed is called after each transaction that queued batches: the
	// pusher's cue.
	Committed func()
	// Progress is called after each page.
	Progress func(Progress)
	// Change is called for every change a run queues (or, dry, would queue).
	Change func(Change)
	// ConfirmDeletes lets the run's deletes through the deletion guard
	// (run --confirm-deletes); the run is full.
	ConfirmDeletes bool
}

// Progress is a run's figures so far.
type Progress struct {
	Pages, Fetched, Upserts, Deletes int
	Stats                            Stats
}

// Change is one upsert (Attributes set) or delete (Reason set). Held marks
// a delete the deletion guard holds back instead of queueing it.
type Change struct {
	SourceID   string
	Attributes json.RawMessage
	Reason     string
	Held       bool
}

// pass is one run's working state.
type pass struct {
	e        *Engine
	c        connector.Config
	table    *mapping.Table
	mode     Mode
	runID    string
	dry      bool
	opts     Options
	provider Provider
	selected map[string]bool

	statsBefore Stats // the provider's counters when the run began
	// contactFields are the contact fields kept in the snapshot; when they
	// differ from the last run's (staleContacts), no contact in the snapshot
	// is trusted until this full pass has rewritten them all.
	contactFields []string
	staleContacts bool

	outside map[string]mapping.Contact // managers outside the selection, from the UserFinder; a miss is the zero Contact

	seen []uint64 // full runs: hashes of the IDs seen
	// pendingDel are the deletes the pages found (users who left the
	// selection), kept until the pass ends and the guard decides.
	pendingDel map[string]pendingDelete
	// delivered is how many users the connector had delivered when the
	// run began: what --max-deletes' percentage is of.
	delivered int
	// identity is the tenant the provider answered as; lastIdentity the
	// one the earlier runs read.
	identity, lastIdentity string
	// anyHeld: deletes were held before this run; users seen selected
	// release theirs (release, written with the page).
	anyHeld bool
	release []string
	spill   *spill
	overlay map[string]store.Snapshot // the snapshot as the run has changed it, not yet written
	removed map[string]bool           // entries the run has deleted, not yet written
	// buffering: page sets it while it decides in a read transaction; the
	// snapshot changes collect in overlay and removed until written.
	buffering bool
	rec       mapping.Record

	pages, fetched, upserts, deletes, batches, seq int
}

// Run syncs one connector: one pass over the provider's users, mapped,
// compared with the snapshot, and the changes queued in the outbox, each
// page in one transaction with its snapshot updates. The provider's cursor
// and the sync state are written with the pass's last transaction, after
// every change it found is in the outbox. The returned record is also kept
// in the run history (except for dry runs).
func (e *Engine) Run(ctx context.Context, c connector.Config, prov Provider, o Options) (store.Run, error) {
	now := e.Clock.Now()
	run := store.Run{ID: connector.NewID("r_", now), Start: now.UTC()}
	before := statsOf(prov) // a provider client may serve several runs: count this one's share
	err := e.run(ctx, c, prov, o, &run)
	run.End = e.Clock.Now().UTC()
	s := statsOf(prov).Since(before)
	run.APICalls, run.RateLimitWaits, run.RateLimitWait = s.Calls, s.RateLimitWaits, s.RateLimitWait
	run.APIResponses = s.Codes
	run.Warnings = append(run.Warnings, s.Warnings...)
	var held *HeldError
	switch {
	case err == nil:
		run.Result = "ok"
	case errors.As(err, &held):
		run.Result, run.Error, run.Held = "held", held.Why, held.Count
	case errors.Is(err, context.Canceled):
		run.Result, run.Error = "cancelled", "cancelled before the pass completed; nothing after the last committed page was kept"
	default:
		run.Result, run.Error = "failed", err.Error()
	}
	if !o.DryRun {
		if herr := e.DB.Update(func(tx *store.Tx) error { return tx.AddRun(c.ID, run) }); herr != nil && err == nil {
			err = fmt.Errorf("record the run: %w", herr)
		}
	}
	// A failed run is an error in the log, so that it also reaches the
	// service manager's log (the Windows event log) with its cause.
	level, extra := slog.LevelInfo, []any{}
	switch run.Result {
	case "failed":
		level, extra = slog.LevelError, []any{"error", run.Error}
	case "held":
		// Needs an admin: a warning reaches the Windows event log too.
		level, extra = slog.LevelWarn, []any{"held", run.Held, "why", run.Error}
	}
	e.Log.Log(context.WithoutCancel(ctx), level, "run finished", append([]any{"connector", c.Name, "run", run.ID, "mode", run.Mode,
		"result", run.Result, "fetched", run.Fetched, "upserted", run.Upserted, "deleted", run.Deleted, "api_calls", run.APICalls,
		"rate_limit_waits", run.RateLimitWaits, "duration", run.End.Sub(run.Start).Round(time.Millisecond)}, extra...)...)
	return run, err
}

func (e *Engine) run(ctx context.Context, c connector.Config, prov Provider, o Options, run *store.Run) error {
	var state store.SyncState
	var cur store.Cursor
	var hasCursor bool
	var delivered int
	err := e.DB.View(func(tx *store.Tx) error {
		var err error
		if state, err = tx.SyncState(c.ID); err != nil {
			return err
		}
		delivered = tx.SnapshotSize(c.ID)
		cur, hasCursor, err = tx.Cursor(c.ID)
		return err
	})
	if err != nil {
		return err
	}
	table, terr := e.Tables.Table(c.Kind, c.ID, c.Name)
	if table == nil {
		return fmt.Errorf("no usable mapping table: %w", terr)
	}
	if terr != nil {
		run.Warnings = append(run.Warnings, "the mapping table did not load, so the last good one was used: "+terr.Error())
	}
	mode, reason := decideMode(c, state, hasCursor, table.Hash(), o.Full || o.ConfirmDeletes, run.Start)
	if o.ConfirmDeletes {
		reason = "deletes confirmed (--confirm-deletes)"
		run.Confirmed = true
	}
	run.Mode, run.ModeReason = string(mode), reason
	e.Log.Info("run started", "connector", c.Name, "run", run.ID, "mode", mode, "because", reason)

	p := &pass{e: e, c: c, table: table, mode: mode, runID: run.ID, dry: o.DryRun, opts: o, provider: prov,
		selected: map[string]bool{}, statsBefore: statsOf(prov), contactFields: table.ManagerFields(),
		pendingDel: map[string]pendingDelete{}, delivered: delivered, lastIdentity: state.Identity, anyHeld: state.Hold != nil}
	if id, ok := prov.(Identifier); ok {
		if p.identity, err = id.Identity(ctx); err != nil {
			return err
		}
	}
	p.staleContacts = state.ContactFields != strings.Join(p.contactFields, ",") && state.MappingHash != ""
	for _, s := range c.Statuses {
		p.selected[s] = true
	}
	p.overlay, p.removed, p.outside = map[string]store.Snapshot{}, map[string]bool{}, map[string]mapping.Contact{}
	removeStaleSpills(e.SpillDir, c.ID)
	if p.spill, err = newSpill(e.SpillDir, c.ID, run.ID); err != nil {
		return err
	}
	defer p.spill.close()

	req := FetchRequest{Mode: mode, Statuses: c.Statuses}
	if state.FullPages > 0 {
		// Ten times the last full pass, and then some: a tenant does not
		// grow tenfold between two full runs, an endless listing does.
		req.MaxPages = 10*state.FullPages + 100
	}
	if mode == Incremental {
		req.Cursor = cur.Value
	}
	next, err := prov.Fetch(ctx, req, func(users []User) error { return p.page(ctx, users) })
	defer func() {
		run.Fetched, run.Upserted, run.Deleted = p.fetched, p.upserts, p.deletes
	}()
	if err != nil {
		return err
	}
	return p.finish(ctx, next, state, run.Start)
}

// decideMode applies product.md §1: the first run, a changed configuration
// or mapping, --full, or the --full-every limit make a run full.
func decideMode(c connector.Config, st store.SyncState, hasCursor bool, mappingHash string, forced bool, now time.Time) (Mode, string) {
	switch {
	case forced:
		return Full, "asked for (--full)"
	case !hasCursor:
		return Full, "first run"
	case st.ConfigHash != ConfigHash(c):
		return Full, "configuration changed"
	case st.MappingHash != mappingHash:
		return Full, "mapping table changed"
	case now.Sub(st.LastFull) >= time.Duration(c.FullEvery):
		return Full, fmt.Sprintf("last full run over %s ago (--full-every)", connector.Duration(c.FullEvery))
	}
	return Incremental, "changes since the last run"
}

func (p *pass) change(ch Change) {
	if p.opts.Change != nil {
		p.opts.Change(ch)
	}
}

// update runs fn in a write transaction, or a read one for dry runs.
func (p *pass) update(fn func(tx *store.Tx) error) error {
	if p.dry {
		return p.e.DB.View(fn)
	}
	return p.e.DB.Update(fn)
}

func (p *pass) getSnap(tx *store.Tx, id string) (store.Snapshot, bool, error) {
	if p.removed[id] {
		return store.Snapshot{}, false, nil
	}
	if s, ok := p.overlay[id]; ok {
		return s, true, nil
	}
	return tx.Snapshot(p.c.ID, id)
}

// putSnap records a user's new entry: in the overlay while buffering or
// dry, in the transaction otherwise.
func (p *pass) putSnap(tx *store.Tx, id string, s store.Snapshot) error {
	if p.dry || p.buffering {
		p.overlay[id] = s
		delete(p.removed, id)
		return nil
	}
	return tx.PutSnapshot(p.c.ID, id, s)
}

func (p *pass) delSnap(tx *store.Tx, id string) error {
	if p.dry || p.buffering {
		delete(p.overlay, id)
		p.removed[id] = true
		return nil
	}
	return tx.DeleteSnapshot(p.c.ID, id)
}

// writeOverlay writes the buffered snapshot changes and forgets them.
func (p *pass) writeOverlay(tx *store.Tx) error {
	for id, s := range p.overlay {
		if err := tx.PutSnapshot(p.c.ID, id, s); err != nil {
			return err
		}
	}
	for id := range p.removed {
		if err := tx.DeleteSnapshot(p.c.ID, id); err != nil {
			return err
		}
	}
	clear(p.overlay)
	clear(p.removed)
	return nil
}

// directory answers manager lookups from the snapshot, noting misses.
type directory struct {
	p      *pass
	tx     *store.Tx
	missed bool
}

func (d *directory) Contact(id string) (mapping.Contact, bool) {
	s, ok, err := d.p.getSnap(d.tx, id)
	_, leaving := d.p.pendingDel[id] // outside the selection now
	if err != nil || !ok || s.Status == "" || d.p.staleContacts || leaving {
		if c, found := d.p.outside[id]; found && c != (mapping.Contact{}) {
			return c, true
		}
		d.missed = true
		return mapping.Contact{}, false
	}
	return mapping.Contact{Name: s.Name, Email: s.Email, Phone: s.Phone}, true
}

// page maps, compares and queues one page. The mapping and comparing
// happen in a read transaction, the batches are encoded and compressed
// outside any, and one short write transaction then stores the page's
// snapshot changes and batches together: the pusher's transactions are not
// held up while a page is mapped.
func (p *pass) page(ctx context.Context, users []User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.complete(ctx, users); err != nil {
		return err
	}
	b := p.newBatcher()
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
	if err == nil {
		err = b.flush(false)
	}
	if err == nil && !p.dry {
		err = p.e.DB.Update(func(tx *store.Tx) error {
			if err := p.writeOverlay(tx); err != nil {
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
	queued := b.queued
	p.pages++
	p.e.Log.Debug("page done", "connector", p.c.Name, "page", p.pages, "users", len(users), "batches", queued,
		"upserts", p.upserts, "deletes", p.deletes)
	if queued > 0 && p.opts.Committed != nil {
		p.opts.Committed()
	}
	p.progress()
	return nil
}

// complete asks the provider for the rest of the Partial users in the
// selected statuses that the snapshot does not know; user skips the others
// (known and unchanged, or never delivered and still not selected).
func (p *pass) complete(ctx context.Context, users []User) error {
	var need []User
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
	return c.Complete(ctx, need) // fills the users' Raw maps, which users shares
}

func (p *pass) progress() {
	if p.opts.Progress == nil {
		return
	}
	p.opts.Progress(Progress{Pages: p.pages, Fetched: p.fetched, Upserts: p.upserts, Deletes: p.deletes,
		Stats: statsOf(p.provider).Since(p.statsBefore)})
}

func (p *pass) user(tx *store.Tx, b *batcher, dir *directory, u User) error {
	p.fetched++
	if p.mode == Full {
		p.seen = append(p.seen, idHash(u.ID))
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
		p.pendingDel[u.ID] = pendingDelete{reason: sink.ReasonStatusNotSelected, delivered: old.Delivered()}
		return nil
	}
	delete(p.pendingDel, u.ID) // seen again in the selection after all
	if p.anyHeld && known {
		p.release = append(p.release, u.ID) // a held delete of this user is void now
	}
	dir.missed = false
	p.rec = p.table.AppendTo(p.rec, u.Raw, dir)
	contact := mapping.ContactOf(p.rec).Keep(p.contactFields) // only what managers' reports read
	next := store.Snapshot{Hash: old.Hash, Status: u.Status, Name: contact.Name, Email: contact.Email, Phone: contact.Phone}
	attrs, err := p.rec.MarshalJSON()
	if err != nil {
		return err
	}
	if dir.missed {
		// The manager may come later in this pass: queue the user when the
		// pass ends, with the manager's fields filled in.
		if refs := p.table.ManagerRefs(u.Raw); len(refs) > 0 {
			if err := p.spill.add(spilled{ID: u.ID, Status: u.Status, Known: known, OldHash: old.Hash, Attrs: attrs, Refs: refs}); err != nil {
				return err
			}
			return p.putSnap(tx, u.ID, next) // contact and status now, hash when queued
		}
	}
	next.Hash = recordHash(attrs)
	if known && old == next {
		return nil // unchanged: costs nothing downstream
	}
	if !known || old.Hash != next.Hash {
		if err := b.upsert(u.ID, attrs); err != nil {
			return err
		}
	}
	return p.putSnap(tx, u.ID, next)
}

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
	n := 0
	for _, d := range dels {
		if d.delivered {
			n++
		}
	}
	why, hint := p.guard(n)
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
			if p.batches > 0 || b.pending > 0 {
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

// nextState is the sync state a completed pass leaves.
func (p *pass) nextState(tx *store.Tx, state store.SyncState, held *HeldError, started time.Time) store.SyncState {
	state.ConfigHash, state.MappingHash = ConfigHash(p.c), p.table.Hash()
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
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := p.findOutside(ctx, chunk); err != nil {
			return err
		}
		err := p.update(func(tx *store.Tx) error {
			b := p.newBatcher()
			dir := &directory{p: p, tx: tx}
			for _, e := range chunk {
				rec, err := mapping.ParseRecord(e.Attrs)
				if err != nil {
					return err
				}
				for _, ref := range e.Refs {
					if c, ok := dir.Contact(ref.ID); ok {
						rec = rec.With(ref.Target, c.Field(ref.Field))
					}
				}
				attrs, err := rec.MarshalJSON()
				if err != nil {
					return err
				}
				cur, ok, err := p.getSnap(tx, e.ID)
				if err != nil {
					return err
				}
				if _, leaving := p.pendingDel[e.ID]; !ok || leaving {
					continue // deleted, or left the selection, later in the pass: nothing to queue
				}
				cur.Hash = recordHash(attrs)
				if !e.Known || e.OldHash != cur.Hash {
					if err := b.upsert(e.ID, attrs); err != nil {
						return err
					}
				}
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
