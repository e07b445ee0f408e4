package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"neurons-connector/engine"
	"neurons-connector/fault"
	"neurons-connector/providers/httpclient"
)

// Reading users now, outside a pass: a few for mapping preview (Sample),
// one for explain (ReadUser).

var (
	_ engine.Sampler    = (*Client)(nil)
	_ engine.UserReader = (*Client)(nil)
)

// readingPass is the memory of a read outside a pass: what the mapping
// does not read is left out, and so is what an OAuth app may not read.
func (c *Client) readingPass(ctx context.Context, statuses, fields []string) (*incremental, error) {
	pass := newPass(cursor{}, statuses)
	pass.skipUnread(fields)
	if o, ok := c.auth.(*oauthApp); ok {
		o.narrow(pass)
		if err := c.withoutRefused(ctx, o, pass); err != nil {
			return nil, err
		}
	}
	return pass, nil
}

// Sample reads up to req.N users now, as a full pass would return them
// (with their apps and devices when the mapping reads them), spread across
// req.Statuses: a listing of one page per status, then one call per user
// for its app links and one for its devices (and one listing of the org's
// apps, for their labels). For mapping preview; the calls are paced like a
// run's.
func (c *Client) Sample(ctx context.Context, req engine.SampleRequest) ([]engine.User, error) {
	if len(req.Statuses) == 0 || req.N <= 0 {
		return nil, nil
	}
	pass, err := c.readingPass(ctx, req.Statuses, req.Fields)
	if err != nil {
		return nil, err
	}
	if !pass.isUnavailable("apps") {
		// The org's apps in one listing, rather than a lookup per app the
		// users' links name.
		q := url.Values{"limit": {"200"}, "filter": {`status eq "ACTIVE"`}}
		err := pagesOf(ctx, c, "/api/v1/apps?"+q.Encode(), 200, func(items []struct{ ID, Label, Name string }) error {
			for _, a := range items {
				pass.apps[a.ID] = appInfo{id: a.ID, label: a.Label, name: a.Name}
			}
			return nil
		})
		if err != nil && !unavailable(err) {
			return nil, err
		}
	}
	var keep map[string]bool
	if k := keepOf(req.Fields); k != nil {
		keep = *k
	}
	per := (req.N + len(req.Statuses) - 1) / len(req.Statuses)
	var users []engine.User
	for _, status := range req.Statuses {
		if len(users) == req.N {
			break
		}
		q := url.Values{"limit": {strconv.Itoa(min(per, req.N-len(users), 200))}, "filter": {fmt.Sprintf("status eq %q", status)}}
		var items []map[string]any
		_, err := c.get(ctx, "/api/v1/users?"+q.Encode(), func(r io.Reader) (err error) {
			items, err = httpclient.DecodeObjectsKeeping(r, 200, keep)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("okta: list %s users: %w", status, err)
		}
		for _, raw := range items {
			f, err := checkUser(raw)
			if err != nil {
				return nil, err
			}
			if _, err := c.enrichOne(ctx, raw, f.id, pass, nil, true, true); err != nil {
				return nil, err
			}
			users = append(users, engine.User{ID: f.id, Status: f.status, Raw: raw})
		}
	}
	return users, nil
}

// ReadUser reads one user by its ID or login (GET /api/v1/users/{key},
// which takes either), else by e-mail (filter on profile.email, then
// search, which ignores case but sees changes late), with its
// apps and devices when the mapping reads them. An e-mail two users share
// is an error that asks for the ID or login.
func (c *Client) ReadUser(ctx context.Context, key string, fields []string) (engine.User, bool, error) {
	pass, err := c.readingPass(ctx, nil, fields)
	if err != nil {
		return engine.User{}, false, err
	}
	var raw map[string]any
	_, err = c.get(ctx, "/api/v1/users/"+url.PathEscape(key), func(r io.Reader) (err error) {
		b, err := io.ReadAll(r)
		if err == nil {
			raw, err = httpclient.DecodeObject(b)
		}
		return err
	})
	var ae *httpclient.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && strings.Contains(key, "@") {
		var items []map[string]any
		// filter first: it is current, where search is served from a store
		// that sees changes late (okta-api.md §2.1), and an admin looks up
		// a user whose e-mail just changed. filter compares values as they
		// are written, search without regard to case: search only when
		// filter finds nobody.
		for _, how := range []string{"filter", "search"} {
			q := url.Values{how: {fmt.Sprintf("profile.email eq %q", key)}, "limit": {"2"}}
			_, err = c.get(ctx, "/api/v1/users?"+q.Encode(), func(r io.Reader) (err error) {
				items, err = httpclient.DecodeObjectsFrom(r, 2)
				return err
			})
			if err != nil || len(items) > 0 {
				break
			}
		}
		switch {
		case err != nil:
		case len(items) > 1:
			return engine.User{}, false, fault.Mark(fmt.Errorf("okta: more than one user has the e-mail %s; give the user's ID or login", key), fault.ErrBadInput)
		case len(items) == 1:
			raw = items[0]
		}
	} else if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return engine.User{}, false, nil
	}
	if err != nil {
		return engine.User{}, false, err
	}
	if raw == nil {
		return engine.User{}, false, nil
	}
	f, err := checkUser(raw)
	if err != nil {
		return engine.User{}, false, err
	}
	if _, err := c.enrichOne(ctx, raw, f.id, pass, nil, true, true); err != nil {
		return engine.User{}, false, err
	}
	return engine.User{ID: f.id, Status: f.status, Raw: raw}, true, nil
}
