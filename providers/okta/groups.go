package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"neurons-connector/providers/httpclient"
)

// maxGroupMembers bounds the members an incremental pass reads again for
// the apps assigned to or taken from their groups: each costs a call for
// its app links (and none for the user, which the members listing gives).
// A thousand is a few minutes of the bucket's share; a larger group's
// members get their apps with the next full run, as before.
var maxGroupMembers = 1000 // a variable for the tests

var errGroupTooLarge = errors.New("more members than this run reads")

// groupMembers lists the members of each group the System Log says was
// given or lost an app (group.application_assignment.*): Okta logs one
// event for the group, none for its members, and no member's lastUpdated
// changes, so without this their apps would change in Neurons only with
// the next full run. Each member is marked for its apps to be read again
// (log.apps) and kept (log.members), so that logOnly needs no read by ID.
func (c *Client) groupMembers(ctx context.Context, log *logRead, pass *incremental) error {
	if log == nil || len(log.groups) == 0 {
		return nil
	}
	later := func(g, why string) {
		c.warn(fmt.Sprintf("okta: an app was assigned to or taken from group %s; %s, so its members' apps reach Neurons with the next full run", g, why))
	}
	left := maxGroupMembers
	done := map[string]bool{}
	for _, g := range log.groups {
		if done[g] {
			continue
		}
		done[g] = true
		switch {
		case pass.isUnavailable("apps"):
			continue // the pass reads no apps: nothing of the members changes for it
		case pass.isUnavailable("groups"):
			later(g, "the token may not list groups' members (okta.groups.read)")
			continue
		}
		var members []foundUser
		err := c.pages(ctx, "/api/v1/groups/"+url.PathEscape(g)+"/users?limit=200", 200, func(items []map[string]any, _ http.Header) error {
			for _, raw := range items {
				f, err := checkUser(raw)
				if err != nil {
					return err
				}
				members = append(members, foundUser{id: f.id, status: f.status, raw: raw})
			}
			if len(members) > left {
				return errGroupTooLarge
			}
			return nil
		})
		var ae *httpclient.APIError
		switch {
		case errors.Is(err, errGroupTooLarge):
			later(g, fmt.Sprintf("it has more than the %d members this run reads again", left))
			continue
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			later(g, "the group is gone")
			continue
		case unavailable(err):
			pass.markUnavailable("groups")
			later(g, fmt.Sprintf("the groups API was refused (%v); give the token's admin read access to groups, or an OAuth app the "+
				"okta.groups.read scope", err))
			continue
		case err != nil:
			return err
		}
		left -= len(members)
		for _, m := range members {
			log.apps[m.id] = true
			log.members[m.id] = m
		}
	}
	return nil
}
