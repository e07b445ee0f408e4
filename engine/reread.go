package engine

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"neurons-connector/store"
)

// A report's record carries its manager's name, e-mail and phone
// (manager(FIELD)), taken from the manager's snapshot entry when the
// report is mapped. When a manager's fields change, the reports did not
// change at the source: an incremental pass does not list them, and a full
// pass may have mapped them before it reached the manager. So a pass
// notes the users whose fields changed (contactChanged), and once its
// listing is done the provider reads their reports again by ID
// (FetchRequest.Again) and the pass maps them with the new fields. Before,
// the reports kept the old fields until the next full run, or the one
// after it.

// maxReread bounds the reports one run reads again by ID. Beyond it (a
// domain renamed: every manager's e-mail at once) one call per report
// costs more than the full run that brings them up to date anyway: the
// full run maps them from the managers' stored fields, whatever the order.
var maxReread = 2000

// contactChanged notes id as a manager whose reports must be read again
// if the fields its reports carry changed: from old (its entry, zero when
// it had none) to next (nil: it leaves, deleted or outside the selection).
// A user new to the connector is noted in an incremental pass only (a
// manager back from a suspension, whose reports lost its fields); a full
// pass holds back the reports of managers it has not seen yet (spill).
func (p *pass) contactChanged(id string, old store.Snapshot, next *store.Snapshot) {
	if len(p.contactFields) == 0 || p.staleContacts || p.rereading {
		return
	}
	switch {
	case next == nil:
		if old.Status == "" {
			return
		}
	case old.Status == "":
		if p.mode == Full || p.delivered == 0 {
			return
		}
	case old.Name == next.Name && old.Email == next.Email && old.Phone == next.Phone:
		return
	}
	p.changed[strings.Clone(id)] = true
}

// keepChanged records in the sync state, with the snapshot entries that
// changed them, the managers whose reports are still to be read again
// (store.SyncState.Reread). Beyond maxReread the reports are left to the
// next full run anyway.
func (p *pass) keepChanged(tx *store.Tx) error {
	if len(p.changed) == p.kept || len(p.changed) > maxReread {
		return nil
	}
	st, err := tx.SyncState(p.c.ID)
	if err != nil {
		return err
	}
	st.Reread = slices.Sorted(maps.Keys(p.changed))
	p.kept = len(p.changed)
	return tx.PutSyncState(p.c.ID, st)
}

// listed reports whether a full pass's listing gave the ID of hash h
// (idHash; p.seen sorted).
func (p *pass) listed(h uint64) bool {
	_, found := slices.BinarySearch(p.seen, h)
	return found
}

// again is FetchRequest.Again: the delivered users whose records name a
// manager the pass changed, in a full pass only those it listed (the
// others' stored state predates the pass). The pages after it are those
// users (rereading).
func (p *pass) again() ([]string, error) {
	if len(p.changed) == 0 || p.rereading {
		return nil, nil
	}
	p.rereading = true
	if err := p.commit(); err != nil { // the managers' new entries, for the scan and the reports' mapping
		return nil, err
	}
	if p.mode == Full {
		// The listing is done: nothing adds to seen now. Searched sorted,
		// where a map of every listed ID held tens of MB at a million.
		slices.Sort(p.seen)
	}
	var ids []string
	err := p.e.DB.View(func(tx *store.Tx) error {
		return tx.ForEachManaged(p.c.ID, func(id, managers []byte) error {
			if p.mode == Full && !p.listed(idHash(id)) {
				return nil
			}
			if _, leaving := p.pendingDel[string(id)]; leaving {
				return nil
			}
			for m := range bytes.SplitSeq(managers, []byte{','}) {
				if p.changed[string(m)] {
					ids = append(ids, string(id))
					break
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(ids) > maxReread {
		p.warnings = append(p.warnings, fmt.Sprintf("the name, e-mail or phone of %d users changed, and %d users report to them: "+
			"more than the %d a run reads again one by one, so their records keep the old manager fields until the next full run",
			len(p.changed), len(ids), maxReread))
		return nil, nil
	}
	if len(ids) > 0 {
		p.e.Log.Info("reading again the reports of managers whose fields changed", "connector", p.c.Name,
			"managers", len(p.changed), "reports", len(ids))
	}
	return ids, nil
}
