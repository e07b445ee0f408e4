package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"neurons-connector/clock"
	"neurons-connector/connector"
	"neurons-connector/mapping"
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
	// LocalSink says that the sink reads batches in this process (the CSV
	// drop): they are packed with S2 instead of gzip, which cost a fifth of
	// such a run's CPU on both sides (measured with bench --cpu-profiles).
	LocalSink bool
	// Sink names where the pusher delivers (settings.Settings.SinkName;
	// empty where it does not matter, as in most tests). Each connector's
	// state keeps the name its snapshot was built for: the snapshot says
	// what that sink holds, so a run towards another one (the CSV drop,
	// then Neurons; another Neurons tenant) resends every selected user,
	// instead of sending the new sink only what changes from then on.
	Sink string
}

// Options adjust one run.
type Options struct {
	Full   bool // a full run whatever the state says
	DryRun bool // compute the changes, write nothing
	// Committed is called after each transaction that queued batches: the
	// pusher's cue.
	Committed func()
	// Progress is called after each page, and every second in between
	// (never twice at once, but possibly beside Change, from another
	// goroutine).
	Progress func(Progress)
	// Change is called for every change a run queues (or, dry, would queue).
	Change func(Change)
	// ConfirmDeletes lets the run's deletes through the deletion guard
	// (run --confirm-deletes); the run is full.
	ConfirmDeletes bool
	// Resend upserts every selected user, changed or not (run --resend):
	// for the day Neurons restores from a backup. The run is full.
	Resend bool
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
	progMu       sync.Mutex // Progress is called by the page and by the ticker
	lastProgress Progress
	e            *Engine
	c            connector.Config
	table        *mapping.Table
	mode         Mode
	runID        string
	dry          bool
	resend       bool  // upsert every selected user, changed or not (Options.Resend)
	opened       bool  // the run has queued a batch and marked itself open (batcher.enqueue)
	started      int64 // the run's start, Unix seconds: when the snapshot says a user was last queued
	opts         Options
	provider     Provider
	selected     map[string]bool

	statsBefore Stats // the provider's counters when the run began
	// contactFields are the contact fields kept in the snapshot; when they
	// differ from the last run's (staleContacts), no contact in the snapshot
	// is trusted until this full pass has rewritten them all.
	contactFields []string
	staleContacts bool

	outside map[string]mapping.Contact // managers outside the selection, from the UserFinder; a miss is the zero Contact
	// changed are the users whose contact fields this pass changed (or
	// who left, or arrived): their reports are read again (reread.go).
	// rereading: the pages now are those reports, not the listing.
	changed   map[string]bool
	rereading bool
	kept      int // how many of changed the sync state holds (keepChanged)
	reread    int // users the pages brought while rereading

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
	// release theirs (release, written with the next commit).
	anyHeld bool
	release []string
	spill   *spill
	overlay map[string]store.Snapshot // the snapshot as the run has changed it, not yet written
	order   []string                  // overlay's IDs as they were first put
	removed map[string]bool           // entries the run has deleted, not yet written
	// contacts are managers' contacts as the snapshot gave them to this
	// pass, until their entry changes (putSnap, delSnap): a manager is
	// read once for all their reports instead of once for each.
	contacts map[string]knownContact
	// borrowed are the managers (idHash) whose stored contacts a full
	// pass lent to reports while listing, before it knew whether it would
	// list them (finish.go, absentManagers): some 2 MB for the 125,000
	// managers of a million users.
	borrowed map[uint64]struct{}
	next     []string // managers whose reports the next run reads again
	// queued are the users queued while reading again, and then those
	// fixManagers queued: each is queued once.
	queued map[string]bool
	// buffering: page sets it while it decides in a read transaction; the
	// snapshot changes collect in overlay and removed until written.
	buffering bool
	rec       mapping.Record
	attrs     []byte // rec encoded
	hasher    recordHasher
	// batcher gathers the pages' changes until commit; committed is when
	// commit last wrote.
	batcher   *batcher
	committed time.Time
	// pageRecords and pageSize are what the last page added to the batch;
	// rewrites counts the changes to known users' snapshots since the last
	// commit.
	pageRecords, pageSize, rewrites int

	pages, fetched, upserts, deletes, batches, seq int

	confirm   confirmed // what asking about the absent users found (confirmAbsent)
	oversized int       // users whose records were cut to fit a batch (fit)
	warnings  []string  // the engine's own, for the run's record
}

// Run syncs one connector: one pass over the provider's users, mapped,
// compared with the snapshot, and the changes queued in the outbox, a few
// pages (a batch's worth) in one transaction with their snapshot updates. The provider's cursor
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
	var hashKey []byte
	err := e.DB.View(func(tx *store.Tx) error {
		var err error
		if state, err = tx.SyncState(c.ID); err != nil {
			return err
		}
		delivered = tx.SnapshotSize(c.ID)
		if hashKey, err = tx.RecordHashKey(); err != nil {
			return err
		}
		cur, hasCursor, err = tx.Cursor(c.ID)
		return err
	})
	if err == nil && hashKey == nil && !o.DryRun {
		// The database's first run with this build (or its first ever).
		err = e.DB.Update(func(tx *store.Tx) error {
			var err error
			hashKey, err = tx.RecordHashKey()
			return err
		})
	}
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
	run.Warnings = append(run.Warnings, table.Warnings()...) // rows that stay empty
	moved := SinkMoved(state, e.Sink, delivered)
	resend := o.Resend || state.Resend != "" || moved
	mode, reason := decideMode(c, state, hasCursor, table.Hash(), o.Full || o.ConfirmDeletes || resend, run.Start)
	if frc, ok := prov.(FullRunChecker); ok && mode == Incremental {
		if why := frc.FullRunNeeded(cur.Value, run.Start); why != "" {
			mode, reason = Full, why
		}
	}
	switch {
	case o.Resend:
		reason = "resend of every selected user"
	case moved:
		reason = fmt.Sprintf("resend of every selected user: the sink changed from %s to %s", state.Sink, e.Sink)
	case resend:
		reason = PendingResend(state)
	}
	if o.ConfirmDeletes {
		reason = "deletes confirmed (--confirm-deletes)"
		run.Confirmed = true
	}
	run.Resend = resend
	var returned int
	if resend && !o.DryRun && (state.Resend == "" || moved) {
		// Said before the first page: a run that stops halfway leaves the
		// next one to resend too (nextState clears it), to the new sink.
		if state.Resend == "" {
			state.Resend = run.ID
		}
		if err := e.DB.Update(func(tx *store.Tx) error {
			st, err := tx.SyncState(c.ID)
			if err != nil {
				return err
			}
			st.Resend = state.Resend
			if moved {
				// Remember what the sink left holds, and take back what the
				// sink returned to still holds, so that the resend's full
				// pass deletes there the users the source lost meanwhile.
				// The sink left also holds the users whose deletes wait in
				// the outbox: those batches go to the new sink.
				waiting, err := waitingDeletes(tx, c.ID, c.Statuses)
				if err != nil {
					return err
				}
				if err := tx.LeaveSink(c.ID, st.Sink, waiting); err != nil {
					return err
				}
				if returned, err = tx.ReturnToSink(c.ID, e.Sink); err != nil {
					return err
				}
			}
			e.stamp(&st)
			return tx.PutSyncState(c.ID, st)
		}); err != nil {
			return err
		}
		if returned > 0 {
			e.Log.Info("back to a former sink: the users it held are checked by this run", "connector", c.Name, "sink", e.Sink, "users", returned)
		}
	}
	run.Mode, run.ModeReason = string(mode), reason
	e.Log.Info("run started", "connector", c.Name, "run", run.ID, "mode", mode, "because", reason)

	p := &pass{e: e, c: c, table: table, mode: mode, runID: run.ID, dry: o.DryRun, opts: o, provider: prov, resend: resend, started: run.Start.Unix(),
		selected: map[string]bool{}, statsBefore: statsOf(prov), contactFields: table.ManagerFields(),
		pendingDel: map[string]pendingDelete{}, delivered: delivered, lastIdentity: state.Identity, anyHeld: state.Hold != nil,
		hasher: recordHasher{key: hashKey}}
	if id, ok := prov.(Identifier); ok {
		if p.identity, err = id.Identity(ctx); err != nil {
			return err
		}
	}
	p.staleContacts = state.ContactFields != strings.Join(p.contactFields, ",") && state.MappingHash != ""
	for _, s := range c.Statuses {
		p.selected[s] = true
	}
	p.overlay, p.removed, p.outside, p.changed = map[string]store.Snapshot{}, map[string]bool{}, map[string]mapping.Contact{}, map[string]bool{}
	p.contacts, p.borrowed, p.queued = map[string]knownContact{}, map[uint64]struct{}{}, map[string]bool{}
	for _, id := range state.Reread { // a run that stopped before it read their reports again
		p.changed[id] = true
	}
	p.kept = len(p.changed)
	removeStaleSpills(e.SpillDir, c.ID)
	if p.spill, err = newSpill(e.SpillDir, c.ID, run.ID); err != nil {
		return err
	}
	defer p.spill.close()
	if resend && !o.DryRun {
		if err := p.replaceRejected(); err != nil {
			return err
		}
	}

	req := FetchRequest{Mode: mode, Statuses: c.Statuses, State: userStates{db: e.DB, connID: c.ID}, Fields: table.Fields(), Sources: table.Sources(),
		Again: p.again}
	if state.FullPages > 0 {
		// Ten times the last full pass, and then some: a tenant does not
		// grow tenfold between two full runs, an endless listing does.
		req.MaxPages = 10*state.FullPages + 100
	}
	// A full pass gets the cursor too: a provider may keep some of it
	// (Okta reads its users' stored states with it; OneLogin, the page
	// size the account accepts).
	req.Cursor = cur.Value
	stopTicking := p.ticking(time.Second)
	p.committed = e.Clock.Now()
	next, err := prov.Fetch(ctx, req, func(users []User) error { return p.page(ctx, users) })
	stopTicking()
	// The pages read are kept even if the pass failed after them: they are
	// consistent, and the next run need not read them again.
	if cerr := p.commit(); err == nil {
		err = cerr
	}
	defer func() {
		run.Fetched, run.Upserted, run.Deleted, run.Reread = p.fetched, p.upserts, p.deletes, p.reread
		run.Warnings = append(run.Warnings, p.warnings...)
		if more := p.oversized - namedOversized; more > 0 {
			run.Warnings = append(run.Warnings, fmt.Sprintf("and %d more users' records were cut the same way", more))
		}
	}()
	if err != nil {
		return err
	}
	return p.finish(ctx, next, state, run.Start)
}

// stamp records in a connector's state that its snapshot is now being
// built for the engine's sink.
func (e *Engine) stamp(st *store.SyncState) {
	if e.Sink != "" {
		st.Sink = e.Sink
	}
}

// decideMode applies product.md §1: the first run, a changed configuration
// or mapping, --full, or the --full-every limit make a run full.
func decideMode(c connector.Config, st store.SyncState, hasCursor bool, mappingHash string, forced bool, now time.Time) (Mode, string) {
	switch {
	case forced:
		return Full, "asked for with --full"
	case !hasCursor:
		return Full, "first run"
	case st.ConfigHash != ConfigHash(c):
		return Full, "configuration changed"
	case st.MappingHash != mappingHash:
		return Full, "mapping table changed"
	case now.Sub(st.LastFull) >= time.Duration(c.FullEvery):
		return Full, fmt.Sprintf("last full run over %s ago (--full-every)", connector.Duration(c.FullEvery))
	case st.LastFull.Sub(now) > time.Hour:
		// Dated by a clock that was ahead: counted from that date, the
		// next full run (the one that finds deletions, for OneLogin)
		// would wait until the clock caught up.
		return Full, fmt.Sprintf("the last full run is dated %s, later than this computer's clock", st.LastFull.UTC().Format(time.RFC3339))
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
	delete(p.contacts, id)
	if p.dry || p.buffering {
		if _, ok := p.overlay[id]; !ok && !p.dry { // a dry run never writes it
			p.order = append(p.order, id)
		}
		p.overlay[id] = s
		delete(p.removed, id)
		return nil
	}
	return tx.PutSnapshot(p.c.ID, id, s)
}

func (p *pass) delSnap(tx *store.Tx, id string) error {
	delete(p.contacts, id)
	if p.dry || p.buffering {
		p.rewrites++
		delete(p.overlay, id)
		p.removed[id] = true
		return nil
	}
	return tx.DeleteSnapshot(p.c.ID, id)
}

// userStates is UserStates on the snapshots, where the states are kept.
type userStates struct {
	db     *store.DB
	connID string
}

func (s userStates) States(ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	err := s.each(ids, func(id string, snap store.Snapshot) {
		if snap.State != "" {
			out[id] = []byte(snap.State)
		}
	})
	return out, err
}

// each calls fn with the snapshot entry of each of ids that has one.
func (s userStates) each(ids []string, fn func(id string, snap store.Snapshot)) error {
	return s.db.View(func(tx *store.Tx) error {
		for _, id := range ids {
			snap, ok, err := tx.Snapshot(s.connID, id)
			if err != nil {
				return err
			}
			if ok {
				fn(id, snap)
			}
		}
		return nil
	})
}

// Known says which of ids the connector has delivered, for a provider
// that would otherwise ask its API about users the sink never had (the
// OneLogin event log names every user deleted, delivered or not).
func (s userStates) Known(ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	err := s.each(ids, func(id string, snap store.Snapshot) {
		if snap.Delivered() {
			out[id] = true
		}
	})
	return out, err
}

// writeOverlay writes the buffered snapshot changes and forgets them.
func (p *pass) writeOverlay(tx *store.Tx) error {
	// In the order the users came: a listing's order (Okta's is by ID),
	// so each put lands beside the last one in pages the transaction has
	// already touched, instead of wherever the map's order sends it (a
	// fifth less time in the puts).
	for _, id := range p.order {
		s, ok := p.overlay[id]
		if !ok {
			continue // removed since, or written already
		}
		if err := tx.PutSnapshot(p.c.ID, id, s); err != nil {
			return err
		}
		delete(p.overlay, id)
	}
	for id, s := range p.overlay { // none: every entry came through putSnap
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
	p.order = p.order[:0]
	return nil
}

// directory answers manager lookups from the snapshot, noting misses.
type directory struct {
	p      *pass
	tx     *store.Tx
	missed bool
}

func (d *directory) Contact(id string) (mapping.Contact, bool) {
	k, cached := d.p.contacts[id]
	if !cached {
		s, ok, err := d.p.getSnap(d.tx, id)
		k = knownContact{known: err == nil && ok && s.Status != ""}
		if k.known {
			// Cloned: an entry of this pass's overlay holds substrings of
			// the manager's whole decoded record, which keeping would pin.
			k.c = mapping.Contact{Name: strings.Clone(s.Name), Email: strings.Clone(s.Email), Phone: strings.Clone(s.Phone)}
		}
		if err == nil {
			d.p.keepContact(id, k)
		}
	}
	_, leaving := d.p.pendingDel[id] // outside the selection now
	if !k.known || d.p.staleContacts || leaving {
		if c, found := d.p.outside[id]; found && c != (mapping.Contact{}) {
			return c, true
		}
		d.missed = true
		return mapping.Contact{}, false
	}
	return k.c, true
}

// knownContact is a manager's contact as the snapshot has it; known is
// false when the snapshot has no entry with a status for them.
type knownContact struct {
	c     mapping.Contact
	known bool
}

// maxContacts bounds the contacts a pass keeps: some 200 bytes each with
// the map's own, so about 6 MB at most. Past it they are forgotten, all at
// once, and read again as reports need them.
const maxContacts = 1 << 15

// keepContact remembers a manager's contact for the rest of the pass, or
// until their entry changes. The ID is cloned: it may be a substring of a
// report's whole decoded record.
func (p *pass) keepContact(id string, k knownContact) {
	if len(p.contacts) >= maxContacts {
		clear(p.contacts)
	}
	id = strings.Clone(id)
	p.contacts[id] = k
	if k.known && p.mode == Full && !p.rereading {
		p.borrowed[idHash(id)] = struct{}{}
	}
}
