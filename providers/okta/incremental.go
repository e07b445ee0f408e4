package okta

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"golang.org/x/sync/errgroup"

	"neurons-connector/engine"
	"neurons-connector/providers/httpclient"
)

// names says whether the log names user id for its apps or devices.
func (r *logRead) names(id string) bool { return r != nil && (r.apps[id] || r.devices[id]) }

func (pass *incremental) snapshotApps() map[string]appInfo {
	pass.mu.Lock()
	defer pass.mu.Unlock()
	return maps.Clone(pass.apps)
}

// refresh completes the changed users of an incremental page: apps and
// devices from each user's stored state, read again only where the System
// Log names the user (or there is no state, or no log to trust it by).
func (c *Client) refresh(ctx context.Context, users []engine.User, states engine.UserStates, log *logRead, pass *incremental) error {
	var ids []string
	for i, u := range users {
		switch {
		case u.Partial:
		case !pass.selected[u.Status]:
			// The engine reads no more of a user outside the selection than
			// its status: its apps and devices would cost calls for nothing.
			users[i].Partial = false
		default:
			ids = append(ids, u.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	stored := map[string][]byte{}
	if states != nil && log != nil {
		var err error
		if stored, err = states.States(ids); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for i := range users {
		u := &users[i]
		if u.Partial || !pass.selected[u.Status] {
			continue
		}
		base, ok := pass.numbers.decode(stored[u.ID])
		if !ok {
			base = nil
		}
		g.Go(func() error {
			s, err := c.enrichOne(gctx, u.Raw, u.ID, pass, base, log != nil && log.apps[u.ID], log != nil && log.devices[u.ID])
			if err == nil {
				u.State = pass.numbers.encode(s)
			}
			return err
		})
	}
	return g.Wait()
}

// logOnly delivers what the log names that the listing did not return:
// users whose apps or devices changed without a profile change (read by
// ID, then completed as listed users are) and deleted users, each
// confirmed gone (404) before it becomes a delete.
func (c *Client) logOnly(ctx context.Context, log *logRead, listed map[string]bool, states engine.UserStates,
	pass *incremental, page func([]engine.User) error) error {
	var read, gone []string
	// Users the log names for their apps or devices, unless the pass reads
	// none of those (skipUnread): their records have not changed for it.
	// Refused devices are read from factors (readFactors): only a mapping
	// that reads none leaves them out.
	noApps, noDevices := pass.isUnavailable("apps"), pass.isUnavailable("devices") && !pass.keeps("devices")
	for id := range log.apps {
		if !noApps {
			read = append(read, id)
		}
	}
	for id := range log.devices {
		if !noDevices && (noApps || !log.apps[id]) {
			read = append(read, id)
		}
	}
	for id := range log.deleted {
		gone = append(gone, id)
	}
	// Groups' members came with their records (groupMembers): no read by ID.
	read = slices.DeleteFunc(read, func(id string) bool { _, member := log.members[id]; return listed[id] || log.deleted[id] || member })
	gone = slices.DeleteFunc(gone, func(id string) bool { return listed[id] })
	slices.Sort(read)
	slices.Sort(gone)
	found, missing, err := c.usersByID(ctx, append(read, gone...))
	if err != nil {
		return err
	}
	var users []engine.User
	added := map[string]bool{}
	for _, key := range read {
		raw, ok := found[key]
		if !ok || listed[raw.id] {
			continue // gone since (a deletion event will say so), or listed under its ID
		}
		if key != raw.id {
			// The log keyed the user by login (no User target): its marks
			// follow the record's ID.
			log.apps[raw.id] = log.apps[raw.id] || log.apps[key]
			log.devices[raw.id] = log.devices[raw.id] || log.devices[key]
		}
		if !added[raw.id] { // named by ID and by login: read once
			added[raw.id] = true
			users = append(users, engine.User{ID: raw.id, Status: raw.status, Raw: raw.raw})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(log.members)) {
		if m := log.members[id]; !listed[id] && !added[id] && !log.deleted[id] {
			added[id] = true
			users = append(users, engine.User{ID: m.id, Status: m.status, Raw: m.raw})
		}
	}
	if err := c.refresh(ctx, users, states, log, pass); err != nil {
		return err
	}
	for _, id := range gone {
		if missing[id] {
			users = append(users, engine.User{ID: id, Deleted: true})
		}
	}
	if len(users) == 0 {
		return nil
	}
	return page(users)
}

// readAgain hands page the users the engine asks for again once the
// listing is done (engine.FetchRequest.Again: reports of managers whose
// fields changed), read by ID and completed as the pass completes its
// users: from the sweep in a full pass, from their stored state (or read
// again where the log names them, or there is no log) in an incremental
// one. A user gone since is left out.
func (c *Client) readAgain(ctx context.Context, req engine.FetchRequest, enrich *enrichment, log *logRead, pass *incremental,
	page func([]engine.User) error) error {
	ids, err := req.Again()
	if err != nil || len(ids) == 0 {
		return err
	}
	found, _, err := c.usersByID(ctx, ids)
	if err != nil {
		return err
	}
	users := make([]engine.User, 0, len(found))
	for _, id := range ids {
		if f, ok := found[id]; ok {
			users = append(users, engine.User{ID: f.id, Status: f.status, Raw: f.raw})
		}
	}
	if enrich == nil {
		err = c.refresh(ctx, users, req.State, log, pass)
	} else {
		// The engine asks only for users this pass listed, whose stored
		// states it wrote with this pass's numbers, not the last one's.
		last := pass.last
		pass.last = nil
		err = c.joinPage(enrich, users, req.State, pass)
		pass.last = last
		if err == nil && enrich.noDevs && pass.keeps("devices") {
			err = c.factorsOfPage(ctx, users, pass)
		}
	}
	if err != nil || len(users) == 0 {
		return err
	}
	return page(users)
}

// foundUser is a user read by ID.
type foundUser struct {
	id, status string
	raw        map[string]any
}

// usersByID reads users one by one (GET /users/{id}), four at a time: found
// by the key asked for, and the keys Okta answered 404 for.
func (c *Client) usersByID(ctx context.Context, keys []string) (map[string]foundUser, map[string]bool, error) {
	found, missing := map[string]foundUser{}, map[string]bool{}
	results := make([]*foundUser, len(keys))
	gone := make([]bool, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for i, key := range keys {
		g.Go(func() error {
			var raw map[string]any
			_, err := c.get(gctx, "/api/v1/users/"+url.PathEscape(key), func(r io.Reader) error {
				return httpclient.DecodeInto(r, &raw)
			})
			var ae *httpclient.APIError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				gone[i] = true
				return nil
			}
			if err != nil {
				return err
			}
			f, err := checkUser(raw)
			if err != nil {
				return err
			}
			results[i] = &foundUser{id: f.id, status: f.status, raw: raw}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i, key := range keys {
		switch {
		case gone[i]:
			missing[key] = true
		case results[i] != nil:
			found[key] = *results[i]
		}
	}
	return found, missing, nil
}

// Confirm implements engine.Confirmer: the status of each user of ids that
// GET /api/v1/users/{id} still finds (deactivated users included); a 404
// leaves the user out, gone.
func (c *Client) Confirm(ctx context.Context, ids []string) (map[string]string, error) {
	found, _, err := c.usersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(found))
	for id, u := range found {
		out[id] = u.status
	}
	return out, nil
}
