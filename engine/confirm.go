package engine

import (
	"context"
	"fmt"

	"neurons-connector/sink"
)

// Confirmer is implemented by providers that can read users by ID. A full
// pass asks it about the delivered users its listing no longer returned,
// before deleting them: a listing that ends early without an error (a
// next link missing, an admin role narrowed to some users) would
// otherwise delete whoever it left out, and a user deactivated since the
// last run, whom a listing of the selected statuses leaves out too, would
// go as deleted-at-source instead of status-not-selected.
type Confirmer interface {
	// Confirm returns the status of each of ids that exists at the source,
	// whatever its status; an ID it leaves out is gone (a 404).
	Confirm(ctx context.Context, ids []string) (map[string]string, error)
}

// ConfirmLimit is the most absent users a full pass asks the provider
// about: a minute of the smallest of Okta's single-user budgets at the
// default share, and a fiftieth of OneLogin's hourly one. Past it, a sample
// of that many, spread over the absentees, stands for all of them.
var ConfirmLimit = 100

// confirmed is what asking about a pass's absent users found.
type confirmed struct {
	asked, leftOut int    // users asked about; those found in a selected status
	unasked        int    // absentees not asked about (past ConfirmLimit, or all when asking failed)
	first          string // the first user found left out
	failed         string // why the provider could not be asked
}

// confirmAbsent asks the provider about the delivered users a full pass
// did not list (dels, reason deleted-at-source): those gone stay deletes;
// those in another status become status-not-selected; those in a
// selected status are dropped from dels and kept as they are, since the
// listing left them out, unless the run's deletes were confirmed
// (--confirm-deletes). It returns the deletes left.
func (p *pass) confirmAbsent(ctx context.Context, dels []removal) ([]removal, error) {
	c, ok := p.provider.(Confirmer)
	if !ok || p.mode != Full || p.fetched == 0 {
		return dels, nil // an empty listing is the guard's case: nothing to ask a token that lists no one
	}
	var absent []int // indexes into dels
	for i, d := range dels {
		if d.delivered && d.reason == sink.ReasonDeletedAtSource {
			absent = append(absent, i)
		}
	}
	if len(absent) == 0 {
		return dels, nil
	}
	ask := absent
	if len(absent) > ConfirmLimit {
		ask = make([]int, 0, ConfirmLimit)
		for k := range ConfirmLimit {
			ask = append(ask, absent[k*len(absent)/ConfirmLimit])
		}
	}
	ids := make([]string, len(ask))
	for k, i := range ask {
		ids[k] = dels[i].id
	}
	status, err := c.Confirm(ctx, ids)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		// Unconfirmed, the deletes wait (the guard holds them) for the
		// next full pass to ask again; the upserts and the cursor go.
		p.confirm = confirmed{failed: err.Error(), unasked: len(absent)}
		return dels, nil
	}
	p.confirm = confirmed{asked: len(ask), unasked: len(absent) - len(ask)}
	keep := make([]bool, len(dels))
	for i := range keep {
		keep[i] = true
	}
	for _, i := range ask {
		st, exists := status[dels[i].id]
		switch {
		case !exists:
		case p.selected[st] && p.opts.ConfirmDeletes:
			// The admin let this run's deletes through: every user it
			// did not list goes (a role narrowed on purpose, say).
		case p.selected[st]:
			keep[i] = false
			if p.confirm.leftOut++; p.confirm.first == "" {
				p.confirm.first = dels[i].id
			}
		default:
			dels[i].reason = sink.ReasonStatusNotSelected
		}
	}
	if p.confirm.leftOut > 0 {
		p.warnings = append(p.warnings, fmt.Sprintf("the provider's listing left out %d users that still exist in a selected status "+
			"(%s first), so they were kept, not deleted; if this repeats, check the token's admin role", p.confirm.leftOut, p.confirm.first))
	}
	out := dels[:0]
	for i, d := range dels {
		if keep[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

// unconfirmed is why the guard holds a pass's deletes when its absentees
// could not be asked about, or a sample of them found some alive: the
// others may be gaps too.
func (p *pass) unconfirmed() string {
	if p.confirm.failed != "" {
		return fmt.Sprintf("the provider could not be asked whether the %d users its listing no longer returned are gone (%s)",
			p.confirm.unasked, p.confirm.failed)
	}
	if p.confirm.leftOut == 0 || p.confirm.unasked == 0 {
		return ""
	}
	return fmt.Sprintf("the listing left out %d of the %d absent users checked, who still exist, so its %d other absences may be gaps too",
		p.confirm.leftOut, p.confirm.asked, p.confirm.unasked)
}
