package onelogin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"neurons-connector/providers/httpclient"
)

// Check proves the connector works with the cheapest calls: a token, then
// one page of one user from /api/2/users (some credentials were seen to
// work on v1 and not v2, so v2 is what is probed). Its error is a sentence
// an admin can act on. known are a few users the connector delivered: when
// the listing comes back empty, one of them is read by id, which tells a
// credential that may not list users from an account that is empty.
func (c *Client) Check(ctx context.Context, known []string) (string, error) {
	var total int
	var n int
	err := c.get(ctx, "/api/2/users", url.Values{"limit": {"1"}, "fields": {"id,status"}}, func(body io.Reader, h http.Header) error {
		users, err := httpclient.DecodeObjectsFrom(body, 1)
		n = len(users)
		total, _ = strconv.Atoi(h.Get("Total-Count"))
		return err
	})
	if err != nil {
		return "", c.explain(err)
	}
	if n > 0 {
		return fmt.Sprintf("OneLogin account at %s issued a token and lists %d users", c.base.Host, total) + c.checkEvents(ctx), nil
	}
	if len(known) == 0 {
		return fmt.Sprintf("OneLogin account at %s issued a token, but listed no users: the account has none, or the "+
			"credential's scope is too narrow; use the Read All scope", c.base.Host), nil
	}
	_, found, err := c.FindUser(ctx, known[0])
	switch {
	case err != nil:
		return "", c.explain(err)
	case found:
		return "", fmt.Errorf("onelogin lists no users, yet user %s, whom this connector delivered, exists: the API "+
			"credential may not list users; create one with the Read All scope and run: "+
			"neurons-connector connector edit %q --client-id ID --client-secret-stdin", known[0], c.name())
	}
	return fmt.Sprintf("OneLogin account at %s issued a token, but listed no users, and user %s, whom this connector "+
		"delivered, is gone: the account is empty now, or --domain names another account than before; runs hold their "+
		"deletes until you confirm (neurons-connector run %q --confirm-deletes)", c.base.Host, known[0], c.name()), nil
}

// checkEvents reads one page of the event log, whose deletions incremental
// runs read: a credential or a proxy that refuses it is no failure (full
// runs still find deletions), but worth saying.
func (c *Client) checkEvents(ctx context.Context) string {
	if _, _, err := c.eventsPage(ctx, deletionsQuery(c.clock.Now())); err != nil {
		return fmt.Sprintf("; but its event log could not be read (%s), so deleted users leave Neurons with full runs only",
			strings.TrimPrefix(err.Error(), "onelogin: "))
	}
	return "; its event log, where incremental runs find deleted users, reads too"
}

// explain rewrites a failed check as what the admin should do.
func (c *Client) explain(err error) error {
	var ae *httpclient.APIError
	var ne *httpclient.NetError
	var ce *credentialsError
	switch {
	case errors.As(err, &ne), errors.As(err, &ce):
		return err // already says what and how
	case errors.As(err, &ae) && ae.Page != "":
		return err // not OneLogin at all: the message says what to check
	case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden):
		return fmt.Errorf("onelogin issued a token but refused to list users (HTTP %d): the API credential's scope "+
			"is too narrow; create one with the Read All scope", ae.Status)
	case errors.As(err, &ae) && ae.Status == http.StatusInternalServerError:
		return fmt.Errorf("onelogin answers HTTP 500 to every call with these credentials, which is what it does when "+
			"the admin who created them was deleted; create a new API credential and run: "+
			"neurons-connector connector edit %q --client-id ID --client-secret-stdin", c.name())
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Errorf("the domain answers but is not a OneLogin API (%s): check the connector's --domain", ae.Error())
	}
	return err
}

func (c *Client) name() string {
	if c.opts.Name == "" {
		return "NAME"
	}
	return c.opts.Name
}
