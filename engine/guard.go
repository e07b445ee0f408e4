package engine

import (
	"fmt"
	"slices"
	"strings"

	"neurons-connector/sink"
	"neurons-connector/store"
)

// The deletion guard (product.md §1): a run's deletes wait until the pass
// has ended, and are committed only if the guard lets them through. A run
// whose deletes exceed the connector's --max-deletes, a full run that lists
// no users while the connector has delivered some, and a run against
// another tenant than the last one deliver their upserts but hold their
// deletes: they go to the store's held set, not to the outbox, and the
// snapshot keeps the users, so nothing is lost. `run --confirm-deletes`
// runs in full and lets its deletes through once.

// HeldError is a run whose deletes the guard held back. The run's upserts
// were delivered as usual; it is not a failure to retry, but it needs an
// admin.
type HeldError struct {
	Count int    // deletes held
	Why   string // the guard's reason, in words
	Hint  string // what to do
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%d deletes held: %s; %s", e.Count, e.Why, e.Hint)
}

// removal is one delete a pass found: a user who left the selection, or
// one a full pass no longer saw.
type removal struct {
	id        string
	reason    string
	delivered bool // the sink has the user: a delete record is due
}

// pendingDelete is a delete found on a page, kept until the pass ends.
type pendingDelete struct {
	reason    string
	delivered bool
}

// guard decides whether the pass's deletes may go (n of them, of users
// the sink has). It returns the reason to hold them, or "".
func (p *pass) guard(n int) (why, hint string) {
	name := p.c.Name
	confirm := fmt.Sprintf("check the source, then let them through once with: neurons-connector run %q --confirm-deletes", name)
	unconfirmed := p.unconfirmed()
	switch {
	case p.opts.ConfirmDeletes || n == 0:
		return "", ""
	case p.identity != "" && p.lastIdentity != "" && p.identity != p.lastIdentity:
		return fmt.Sprintf("the provider answered as %s, but the connector's earlier runs read %s", p.identity, p.lastIdentity),
			fmt.Sprintf("if the connector should now read the new tenant, run: neurons-connector run %q --confirm-deletes; "+
				"otherwise fix its URL (neurons-connector connector edit %q)", name, name)
	case unconfirmed != "":
		return unconfirmed, fmt.Sprintf("run it again later (neurons-connector run %q --full): the deletes go once the provider "+
			"lists everyone; or %s", name, confirm)
	case p.mode == Full && p.fetched == 0 && p.delivered > 0:
		return fmt.Sprintf("the full run listed no users while the connector has delivered %d (Okta answers an empty list to "+
				"a token whose owner lost the admin role)", p.delivered),
			fmt.Sprintf("run: neurons-connector connector test %q; if the tenant is really empty, %s", name, confirm)
	}
	if allowed := p.c.MaxDeletes.Allowed(p.delivered); allowed >= 0 && n > allowed {
		return fmt.Sprintf("they exceed --max-deletes %s (at most %d of the %d users the connector has delivered)",
				p.c.MaxDeletes, allowed, p.delivered),
			fmt.Sprintf("%s; or raise the limit (neurons-connector connector edit %q --max-deletes N|P%%|none)", confirm, name)
	}
	return "", ""
}

// removals gathers the pass's deletes: those its pages found and, for a
// full pass, the users it no longer saw. held gives the reason of a delete
// held earlier, so that a user held as status-not-selected keeps that
// reason when a later full pass no longer sees them.
func (p *pass) removals() ([]removal, error) {
	out := make([]removal, 0, len(p.pendingDel))
	for id, d := range p.pendingDel {
		out = append(out, removal{id: id, reason: d.reason, delivered: d.delivered})
	}
	if p.mode == Full {
		slices.Sort(p.seen)
		err := p.e.DB.View(func(tx *store.Tx) error {
			n := 0
			seen := func(id []byte) bool {
				if n++; n%trimEvery == 0 {
					tx.TrimMapped(maxMapped) // the scan reads every page of the snapshot, in order
				}
				_, found := slices.BinarySearch(p.seen, idHash(id))
				return found
			}
			return tx.ForEachSnapshotUnless(p.c.ID, seen, func(id string, s store.Snapshot) error {
				if p.dry && p.removed[id] {
					return nil
				}
				reason := sink.ReasonDeletedAtSource
				if held, ok := tx.HeldReason(p.c.ID, id); ok {
					reason = held
				} else if !p.selected[s.Status] {
					reason = sink.ReasonStatusNotSelected // left the selection (narrowed statuses)
				}
				out = append(out, removal{id: id, reason: reason, delivered: s.Delivered()})
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b removal) int { return strings.Compare(a.id, b.id) })
	return out, nil
}

// holdAll writes the pass's deletes to the held set instead of the outbox:
// a full pass's set replaces the earlier one (the pass saw everything); an
// incremental pass's joins it.
func (p *pass) holdAll(tx *store.Tx, dels []removal, first bool) error {
	if first && p.mode == Full {
		if err := tx.ClearHeld(p.c.ID); err != nil {
			return err
		}
	}
	for _, d := range dels {
		if !d.delivered {
			continue // nothing in the sink: nothing to hold
		}
		if err := tx.HoldDelete(p.c.ID, d.id, d.reason); err != nil {
			return err
		}
	}
	return nil
}
